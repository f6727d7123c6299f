#!/bin/bash
# The control channel: a message of 1 MiB arrives whole; pings and large
# messages get through 20% random loss in each direction (nftables drops),
# and through 20% loss with 10% reordering and 5% duplication (this kernel
# has no netem: tests/helpers/udp_impair relays between the two daemons); a
# peer that vanishes makes requests fail with a clear error after bounded
# retries, and the channel recovers when it returns.
. "$(dirname "$0")/lib.sh"

peer_pair a b 10.33.0
id_b=${NODE_ID[b]}
run ray_on a ping "$id_b" -c 1

log "the largest message (1 MiB less the envelope) arrives intact"
run ray_on a debug send "$id_b" 1048512

log "20% loss each way"
for n in a b; do
	in_ns $n nft add table inet chaos
	in_ns $n nft add chain inet chaos in '{ type filter hook input priority 0; }'
	in_ns $n nft add rule inet chaos in udp dport 41383 numgen random mod 100 '<' 20 drop
done
ray_on a ping "$id_b" -c 10 -W 10 --json >"$T_DIR/lossy.json" || true
jq -e '.received == 10' "$T_DIR/lossy.json" >/dev/null ||
	fail "pings lost on a lossy link: $(jq -c '{sent, received}' "$T_DIR/lossy.json")"
run ray_on a debug send "$id_b" 300000 --timeout 60
run ray_on a debug send "$id_b" 1048512 --timeout 60
for n in a b; do in_ns $n nft delete table inet chaos; done

log "20% loss, 10% reordering, 5% duplicates through a relay (udp_impair)"
impair=$(dirname "$RAY")/tests/udp_impair
[ -x "$impair" ] || fail "no $impair (make tests)"
ip netns exec "$T_ID-b" "$impair" 10.33.0.2 50001 10.33.0.2:41383 50002 10.33.0.1:41383 \
	20 10 5 1 >"$T_DIR/impair.log" 2>&1 &
T_PIDS+=($!)
run ray_on a debug peer remove "$id_b"
run ray_on b debug peer remove "${NODE_ID[a]}"
run ray_on a debug peer add "$id_b" --endpoint 10.33.0.2:50001
run ray_on b debug peer add "${NODE_ID[a]}" --endpoint 10.33.0.2:50002
# The handshake itself may need a few of WireGuard's 5 s retries.
wait_for 40 "a session through the impaired relay" ray_on a ping "$id_b" -c 1 -W 2
ray_on a ping "$id_b" -c 10 -W 10 --json >"$T_DIR/impaired.json" || true
jq -e '.received == 10' "$T_DIR/impaired.json" >/dev/null ||
	fail "pings lost through the relay: $(jq -c '{sent, received}' "$T_DIR/impaired.json")"
run ray_on a debug send "$id_b" 1048512 --timeout 60
json_get a '.peers[0].endpoint == "10.33.0.2:50001"' status >/dev/null ||
	fail "traffic did not go through the relay"
json_get a '.peers[0].control.frames_retransmitted > 0' status >/dev/null ||
	fail "no retransmissions: was anything lost?"

log "a peer that vanishes: bounded retries, clean error"
kill -STOP "${DAEMON_PID[b]}"
start=$(date +%s)
if ray_on a debug send "$id_b" 5000 --timeout 60 2>"$T_DIR/vanish.err"; then
	kill -CONT "${DAEMON_PID[b]}"
	fail "send to a stopped peer succeeded"
fi
took=$(($(date +%s) - start))
kill -CONT "${DAEMON_PID[b]}"
log "failed after ${took}s: $(cat "$T_DIR/vanish.err")"
grep -q "send failed: Connection timed out" "$T_DIR/vanish.err" || fail "unclear error"
[ "$took" -le 30 ] || fail "took ${took}s to give up"

log "the peer is back: the channel works again"
wait_for 20 "ping after the peer returned" ray_on a ping "$id_b" -c 1 -W 2
run ray_on a debug send "$id_b" 100000
daemon_stop a
daemon_stop b
log "PASS"
