#!/bin/bash
# Reaching a peer across a symmetric NAT (issue 4, part 5, case b): b's NAT
# picks a new random port for every destination, so the address STUN sees is
# not the one a's probes would need, and hole punching cannot work. Ping must
# work anyway, through the relay, and stay there without flapping.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

nat_inet
nat_relay
nat_router nata 198.18.0.2 10.0.1 eim
nat_router natb 198.18.0.3 10.0.2 symmetric
nat_host a nata 10.0.1.2
nat_host b natb 10.0.2.2
nat_node a
nat_node b

log "a and b add each other by id alone"
nat_peer a b
wait_for 10 "a to learn b's relay" peer_field a b 'relay | strings'
in_ns a ping -c 1 -W 3 "${NODE_IP4[b]}" >/dev/null || fail "no ping reply within 3 s"
run in_ns a ping -c 50 -i 0.2 -W 1 "${NODE_IP4[b]}" >"$T_DIR/ping.txt" ||
	fail "ping through the relay lost packets: $(tail -2 "$T_DIR/ping.txt")"
tail -1 "$T_DIR/ping.txt"
peer_path_is a b relay || fail "a's path to b is $(peer_field a b path), expected relay"
peer_path_is b a relay || fail "b's path to a is $(peer_field b a path), expected relay"
ray_on a ping "${NODE_ID[b]}" -c 1 --json | jq -e ".replies[0].path == \"relay\" and
	.replies[0].endpoint == \"$RELAY_URL\"" >/dev/null || fail "ray ping does not report the relay"

log "netcheck: b's mapping varies by destination, a's does not"
ray_on b netcheck --json >"$T_DIR/netcheck-b.json"
jq -e '.udp == true and .mapping_varies_by_destination == true and
	(.public_addresses | length) == 2' "$T_DIR/netcheck-b.json" >/dev/null ||
	fail "netcheck on b: $(cat "$T_DIR/netcheck-b.json")"
run ray_on b netcheck
json_get a '.mapping_varies_by_destination == false' netcheck >/dev/null ||
	fail "netcheck on a says its mapping varies"

log "iperf3 through the relay"
run ray_on b firewall add in allow --proto tcp --port 5201 >/dev/null
iperf_server b 5201 -1
sleep 0.3
in_ns a timeout 60 iperf3 -c "${NODE_IP4[b]}" -p 5201 -t 3 -J >"$T_DIR/ab.json" ||
	fail "iperf3 through the relay failed"
log "a -> b via relay: $(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$T_DIR/ab.json") Mbit/s"

log "the home relay is remembered: a restarts without --relay and reconnects"
daemon_stop a
daemon_start a
wait_for 10 "a back on its saved relay" json_get a ".relays[0].url == \"$RELAY_URL\" and .relays[0].connected" status
wait_for 10 "ping after a's restart" in_ns a ping -c 1 -W 1 "${NODE_IP4[b]}"

daemon_stop a
daemon_stop b
kill -TERM "$RELAY_PID"
wait_gone "$RELAY_PID" 10
[ "$WAIT_RC" -eq 0 ] || fail "relay exited with status $WAIT_RC"
log "PASS nat_symmetric"
