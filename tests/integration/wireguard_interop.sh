#!/bin/bash
# Interoperability with stock WireGuard (wireguard-go, configured with wg):
# a handshake completes, ping and iperf3 work both ways, and a rekey during a
# long transfer does not break the TCP connection.
#
#   ns a: ray daemon (ray0, 100.x/fd72:...)      ns b: wireguard-go (wg-rfNNN)
#         10.77.0.1 -------------- veth -------------- 10.77.0.2
. "$(dirname "$0")/lib.sh"

command -v wireguard-go >/dev/null || fail "wireguard-go is not installed (scripts/deps.sh)"
REKEY=${REKEY:-3}
netns_add a
netns_add b
veth_pair a b 10.77.0.1/24 10.77.0.2/24
# Shorten our rekey interval so a rekey happens during the transfer.
RAYFISH_TEST_REKEY_AFTER=$REKEY daemon_start a

# wireguard-go's socket lives in /var/run/wireguard, shared by all
# namespaces: a unique name per test run.
wgif=wg-rf$$
wgif=${wgif:0:15}
wg genkey >"$T_DIR/wg.key"
wgpub=$(wg pubkey <"$T_DIR/wg.key")
bg_in_ns b wireguard-go -f "$wgif" >"$T_DIR/wireguard-go.log" 2>&1
wait_for 10 "wireguard-go to create $wgif" in_ns b ip link show "$wgif"

ray_ip=$(json_get a .ipv4 id)
ray_wg=$(json_get a .wg_public_key id)
wg_ip=100.127.200.2
run in_ns b wg set "$wgif" private-key "$T_DIR/wg.key" listen-port 51820 \
	peer "$ray_wg" endpoint 10.77.0.1:41383 allowed-ips "$ray_ip/32"
run in_ns b ip addr add "$wg_ip/32" dev "$wgif"
run in_ns b ip link set "$wgif" mtu 1420 up
run in_ns b ip route add 100.64.0.0/10 dev "$wgif"

run ray_on a debug peer add "wg:$wgpub" --endpoint 10.77.0.2:51820 --allowed-ip "$wg_ip/32"

log "ping from rayfish to wireguard-go, and back"
run in_ns a ping -c 3 -i 0.2 -W 3 "$wg_ip"
run in_ns b ping -c 3 -i 0.2 -W 3 "$ray_ip"
in_ns b wg show "$wgif" latest-handshakes | awk '{ exit !($2 > 0) }' ||
	fail "wireguard-go saw no handshake"
json_get a '.peers[0].last_handshake > 0' status >/dev/null || fail "ray saw no handshake"

log "iperf3 both ways, long enough for rekeys every ${REKEY}s"
run ray_on a firewall add in allow --proto tcp --port 5202 >/dev/null
iperf_server b 5201 -1
iperf_server a 5202 -1
sleep 0.5
hs_before=$(json_get a .counters.handshakes_completed status)
run in_ns a timeout 60 iperf3 -c "$wg_ip" -p 5201 -t 8 -J >"$T_DIR/up.json" || fail "iperf3 ray -> wg failed"
run in_ns b timeout 60 iperf3 -c "$ray_ip" -p 5202 -t 4 -J >"$T_DIR/down.json" || fail "iperf3 wg -> ray failed"
hs_after=$(json_get a .counters.handshakes_completed status)
up=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$T_DIR/up.json")
down=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$T_DIR/down.json")
log "ray -> wireguard-go: $up Mbit/s; wireguard-go -> ray: $down Mbit/s"
log "handshakes completed: $hs_before before, $hs_after after the transfers"
[ "$up" -gt 10 ] && [ "$down" -gt 10 ] || fail "throughput too low"
[ "$hs_after" -gt $((hs_before + 1)) ] || fail "no rekey happened during the transfers"
jq -e '.end.sum_sent.retransmits != null' "$T_DIR/up.json" >/dev/null

log "after the rekeys, traffic still flows"
run in_ns a ping -c 2 -i 0.2 -W 3 "$wg_ip"
daemon_stop a
log "PASS"
