#!/bin/bash
# Reaching a peer by id alone across NATs (issue 4, part 5): two nodes, each
# behind its own endpoint-independent (port-preserving) NAT, a relay on the
# "internet". Each adds the other by node id only.
#   (a) ping works through the relay within 3 s, then moves to a direct path
#       within 10 s;
#   (c) the relay is killed once the path is direct: traffic keeps flowing;
#   (d) a's NAT changes its public address and forgets its mappings during a
#       ping stream: the session recovers within 10 s.
# Also: a third node on a's LAN reaches a over the LAN, not through the NAT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

nat_inet
nat_relay
nat_router nata 198.18.0.2 10.0.1 eim
nat_router natb 198.18.0.3 10.0.2 eim
nat_host a nata 10.0.1.2
nat_host b natb 10.0.2.2
nat_host c nata 10.0.1.3
nat_node a
nat_node b
# c uses another UDP port than a: two hosts behind one NAT with the same
# port make the NAT pick a port per destination for one of them, which is
# symmetric behaviour (nat_symmetric covers it), not what (d) is about.
nat_node c --port 41390

# No route between the LANs but through the NATs.
if in_ns a ping -c 1 -W 1 10.0.2.2 >/dev/null 2>&1; then fail "a reaches b's LAN directly"; fi

log "(a) a and b add each other by id alone"
nat_peer a b
wait_for 10 "a to learn b's relay" peer_field a b 'relay | strings'
start=$(date +%s%N)
in_ns a ping -c 1 -W 3 "${NODE_IP4[b]}" >/dev/null || fail "no ping reply within 3 s"
log "first ping answered after $((($(date +%s%N) - start) / 1000000)) ms"
wait_for 10 "a's path to b to become direct" peer_path_is a b direct
wait_for 5 "b's path to a to become direct" peer_path_is b a direct
log "a -> b endpoint: $(peer_field a b endpoint); b -> a endpoint: $(peer_field b a endpoint)"
peer_field a b endpoint | grep -q '^198\.18\.0\.3:' || fail "a's direct endpoint for b is not b's NAT"
json_get a '.public_endpoint | startswith("198.18.0.2:")' status >/dev/null ||
	fail "a did not learn its public address from STUN"
ray_on a ping "${NODE_ID[b]}" -c 1 --json | jq -e '.replies[0].path == "direct"' >/dev/null ||
	fail "ray ping does not report the direct path"

log "netcheck on a: UDP, its NAT's address, a mapping that does not vary"
ray_on a netcheck --json >"$T_DIR/netcheck.json"
jq -e --arg url "$RELAY_URL" '.udp == true and .public_addresses == ["198.18.0.2:41383"] and
	.mapping_varies_by_destination == false and .preferred_relay == $url and
	.relays[0].connected == true and .relays[0].stun_latency_ms > 0 and
	.port_mapping.upnp == false and .port_mapping.nat_pmp == false' "$T_DIR/netcheck.json" \
	>/dev/null || fail "netcheck: $(cat "$T_DIR/netcheck.json")"
run ray_on a netcheck

log "LAN: c and a find each other over their LAN"
nat_peer a c
wait_for 10 "c reachable" in_ns c ping -c 1 -W 1 "${NODE_IP4[a]}"
wait_for 10 "c's path to a to become direct" peer_path_is c a direct
peer_field c a endpoint | grep -q '^10\.0\.1\.2:41383$' ||
	fail "c reaches a via $(peer_field c a endpoint), not over the LAN"

log "(c) kill the relay: the direct path carries on"
kill -TERM "$RELAY_PID"
wait_gone "$RELAY_PID" 10
[ "$WAIT_RC" -eq 0 ] || fail "relay exited with status $WAIT_RC"
in_ns a ping -c 20 -i 0.2 -W 1 "${NODE_IP4[b]}" >"$T_DIR/ping-c.txt" || true
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$T_DIR/ping-c.txt")
log "without the relay: ${loss}% loss"
[ "${loss%.*}" -le 5 ] || fail "traffic did not survive the relay going away"
peer_path_is a b direct || fail "path is not direct without the relay"

log "(d) a's NAT gets a new public address and forgets its mappings"
nat_relay_start # the relay comes back, as a real one would
wait_for 10 "a back on the relay" json_get a '.relays[0].connected' status
bg_in_ns a ping -i 0.1 -W 1 "${NODE_IP4[b]}" >"$T_DIR/ping-d.txt" 2>&1
PING_PID=$BG_PID
# A TCP transfer across the change: direct, then the relay, then direct
# again; the connection must survive every move.
run ray_on b firewall add in allow --proto tcp --port 5201 >/dev/null
iperf_server b 5201 -1
sleep 0.3
bg_in_ns a timeout 60 iperf3 -c "${NODE_IP4[b]}" -p 5201 -t 20 -b 20M -J >"$T_DIR/iperf-d.json"
IPERF_PID=$BG_PID
sleep 2
change=$(date +%s%N)
in_ns nata ip addr del 198.18.0.2/24 dev wan
in_ns nata ip addr add 198.18.0.12/24 dev wan
in_ns nata conntrack -F >/dev/null 2>&1
wait_for 12 "ping after the address change" in_ns a ping -c 1 -W 1 "${NODE_IP4[b]}"
log "recovered $((($(date +%s%N) - change) / 1000000)) ms after the change"
[ $((($(date +%s%N) - change) / 1000000)) -le 10000 ] || fail "recovery took over 10 s"
kill "$PING_PID" 2>/dev/null || true
wait_for 20 "a's path to b direct again" peer_path_is a b direct
log "a -> b after the change: $(peer_field a b path) $(peer_field a b endpoint)"
wait_gone "$IPERF_PID" 40
[ "$WAIT_RC" -eq 0 ] || fail "the TCP transfer broke across the path changes: $(tail -5 "$T_DIR/iperf-d.json")"
log "TCP across the changes: $(jq '.end.sum_received.bytes / 1e6 | floor' "$T_DIR/iperf-d.json") MB received, $(jq '.end.sum_sent.retransmits' "$T_DIR/iperf-d.json") retransmits"

daemon_stop a
daemon_stop b
daemon_stop c
log "PASS nat_traversal"
