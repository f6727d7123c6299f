#!/bin/bash
# Two rayfish nodes with static peers: ping over mesh IPv4 and IPv6, iperf3
# TCP both ways, `ray ping` over the control channel; `ray down` stops data
# while `ray ping` still answers, `ray up` restores it; a peer cannot spoof a
# source address that is not its own; the underlay may be IPv4 or IPv6;
# static peers survive a restart.
#
#   ns a: ray0 100.x / fd72:..   10.66.0.1 ---- veth ---- 10.66.0.2   ns b: ray0
. "$(dirname "$0")/lib.sh"

peer_pair a b 10.66.0
id_b=${NODE_ID[b]}
a4=${NODE_IP4[a]}
b4=${NODE_IP4[b]}
b6=${NODE_IP6[b]}

log "ping over mesh IPv4 and IPv6, both ways"
run in_ns a ping -c 3 -i 0.2 -W 3 "$b4"
run in_ns a ping -6 -c 3 -i 0.2 -W 3 "$b6"
run in_ns b ping -c 3 -i 0.2 -W 3 "$a4"
json_get a '.peers[0].last_handshake > 0 and .peers[0].path == "direct"' status >/dev/null ||
	fail "status shows no handshake or no direct path"
json_get a '.peers[0].rx_bytes > 0 and .peers[0].tx_bytes > 0' status >/dev/null ||
	fail "status shows no traffic"

log "iperf3 TCP both ways (each side's firewall opens its iperf3 port)"
run ray_on b firewall add in allow --proto tcp --port 5201 >/dev/null
run ray_on a firewall add in allow --proto tcp --port 5202 >/dev/null
iperf_server b 5201 -1
iperf_server a 5202 -1
sleep 0.3
in_ns a timeout 60 iperf3 -c "$b4" -p 5201 -t 3 -J >"$T_DIR/ab.json" || fail "iperf3 a -> b failed"
in_ns b timeout 60 iperf3 -c "$a4" -p 5202 -t 3 -J >"$T_DIR/ba.json" || fail "iperf3 b -> a failed"
ab=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$T_DIR/ab.json")
ba=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$T_DIR/ba.json")
log "a -> b: $ab Mbit/s, b -> a: $ba Mbit/s"
[ "$ab" -gt 10 ] && [ "$ba" -gt 10 ] || fail "throughput too low"

log "ray ping by id prefix and by mesh address"
ray_on a ping "${id_b:0:8}" -c 2 --json >"$T_DIR/ping.json"
jq -e '.received == 2 and .replies[0].path == "direct" and .replies[0].endpoint == "10.66.0.2:41383"' \
	"$T_DIR/ping.json" >/dev/null || fail "ray ping: $(cat "$T_DIR/ping.json")"
run ray_on a ping "$b6" -c 1

log "ray down on b: data stops, control still answers"
run ray_on b down
in_ns b ip -br link show ray0 | grep -q DOWN || fail "b's ray0 is not down"
if in_ns b ip addr show dev ray0 | grep -q "$b4"; then fail "b kept its address while down"; fi
if in_ns a ping -c 2 -i 0.2 -W 1 "$b4" >/dev/null; then fail "data flowed to a node that is down"; fi
run ray_on a ping "$id_b" -c 2
json_get b '.counters.drop_down > 0' status >/dev/null || fail "b did not count packets dropped while down"

log "ray up on b: data flows again"
run ray_on b up
wait_for 10 "ping after ray up" in_ns a ping -c 1 -W 1 "$b4"

log "a source address that is not the peer's own is dropped"
run in_ns b ip addr add 100.99.99.99/32 dev ray0
before=$(json_get a .counters.drop_bad_source status)
in_ns b ping -c 2 -i 0.2 -W 1 -I 100.99.99.99 "$a4" >/dev/null 2>&1 || true
after=$(json_get a .counters.drop_bad_source status)
[ "$after" -gt "$before" ] || fail "spoofed source was not dropped ($before -> $after)"

log "unknown peer: clear error"
if ray_on a ping nosuchpeer -c 1 2>"$T_DIR/err"; then fail "ping to unknown peer succeeded"; fi
grep -q "no such peer" "$T_DIR/err" || fail "unclear error: $(cat "$T_DIR/err")"

log "a removed peer is gone from status and routes"
run ray_on a debug peer remove "$id_b"
json_get a '.peers == []' status >/dev/null || fail "peer still listed"
if in_ns a ping -c 1 -W 1 "$b4" >/dev/null; then fail "traffic to a removed peer"; fi

log "over an IPv6 underlay: same socket, and b follows a to its new address"
in_ns a ip addr add fd00:66::1/64 dev v-a nodad
in_ns b ip addr add fd00:66::2/64 dev v-b nodad
run ray_on a debug peer add "$id_b" --endpoint "[fd00:66::2]:41383"
run in_ns a ping -c 2 -i 0.2 -W 3 "$b4"
json_get a '.peers[0].endpoint == "[fd00:66::2]:41383"' status >/dev/null || fail "a: endpoint"
json_get b '.peers[0].endpoint == "[fd00:66::1]:41383"' status >/dev/null ||
	fail "b did not roam to a's IPv6 address: $(json_get b .peers[0].endpoint status)"
log "static peers survive a restart"
daemon_stop a
daemon_start a
json_get a '.peers[0].endpoint == "[fd00:66::2]:41383"' status >/dev/null ||
	fail "peer not restored: $(ray_on a status --json | jq -c .peers)"
run in_ns a ping -c 2 -i 0.2 -W 3 "$b4"
log "b, still on keys from before a restarted, reaches a again at once"
daemon_stop a
daemon_start a
start=$(date +%s%N)
wait_for 5 "b to reach the restarted a" in_ns b ping -c 1 -W 1 "$a4"
log "b reached a $((($(date +%s%N) - start) / 1000000)) ms after a's restart (its own rekey would take 15 s)"
run ray_on a debug peer remove "$id_b"
daemon_stop a
daemon_start a
json_get a '.peers == []' status >/dev/null || fail "a removed peer came back"

log "a damaged peers.json stops the daemon with a clear error"
daemon_stop a
echo '[{"peer": "not-a-node-id"}]' >"$(node_state a)/peers.json"
if in_ns a "$RAY" --socket "$(node_socket a)" daemon --state-dir "$(node_state a)" \
	>"$T_DIR/badpeers.log" 2>&1; then
	fail "daemon started with a damaged peers.json"
fi
grep -q "peers.json: entry 0: 'not-a-node-id' is not a node id" "$T_DIR/badpeers.log" ||
	fail "unclear error: $(cat "$T_DIR/badpeers.log")"
daemon_stop b
log "PASS"
