#!/bin/bash
# The netns benchmark: the same two namespaces joined by one veth pair, and
# over it in turn the bare link, wireguard-go and rayfish. For each: iperf3
# TCP single-stream and 4-stream throughput, ping RTT, and the small-packet
# rate (UDP, 64-byte payloads). rayfish runs twice: with its firewall on (a
# rule opens the iperf3 port; every packet goes through rule evaluation or
# the connection tracker) and off. Prints a table and the ratios.
#
#   usage: bench/run.sh [PATH_TO_RAY]     (root; BENCH_SECONDS=N per run, default 5)
#
#   ns a  10.55.0.1 ------------- veth ------------- 10.55.0.2  ns b
#   bare: the veth addresses; wireguard-go: 100.127.1.1/2 on wg-*; rayfish: ray0
. "$(dirname "$0")/lib.sh" "${1:-}"
SECS=${BENCH_SECONDS:-5}

bench_link
iperf_server b 5201
sleep 0.3

declare -A R
measure() { # NAME DEST_IP
	local name=$1 dst=$2 out
	out=$(in_ns a timeout 60 iperf3 -c "$dst" -p 5201 -t "$SECS" -J) || fail "$name: iperf3 failed"
	R[$name,tcp1]=$(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")
	out=$(in_ns a timeout 60 iperf3 -c "$dst" -p 5201 -t "$SECS" -P 4 -J) || fail "$name: iperf3 -P 4 failed"
	R[$name,tcp4]=$(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")
	out=$(in_ns a timeout 60 iperf3 -c "$dst" -p 5201 -t "$SECS" -u -b 0 -l 64 -J) || fail "$name: iperf3 -u failed"
	R[$name,pps]=$(jq '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds / 1e3' <<<"$out")
	R[$name,rtt]=$(in_ns a ping -c 50 -i 0.01 -q "$dst" | awk -F/ '/^rtt/ { print $5 }')
	printf "%-14s %8.2f %10.2f %12.0f %10.3f\n" "$name" "${R[$name,tcp1]}" "${R[$name,tcp4]}" \
		"${R[$name,pps]}" "${R[$name,rtt]}"
}

printf "%-14s %8s %10s %12s %10s\n" "" "TCP Gb/s" "TCP×4 Gb/s" "UDP64 kpps" "RTT ms"

measure bare 10.55.0.2

# wireguard-go at both ends; its sockets sit in /var/run/wireguard, shared.
for n in a b; do
	wg genkey >"$T_DIR/$n.key"
	wg pubkey <"$T_DIR/$n.key" >"$T_DIR/$n.pub"
	bg_in_ns $n wireguard-go -f "wg-rb$$-$n" >"$T_DIR/wg-$n.log" 2>&1
done
for n in a b; do wait_for 10 "wireguard-go in $n" in_ns $n ip link show "wg-rb$$-$n"; done
in_ns a wg set "wg-rb$$-a" private-key "$T_DIR/a.key" listen-port 51820 \
	peer "$(cat "$T_DIR/b.pub")" endpoint 10.55.0.2:51820 allowed-ips 100.127.1.2/32
in_ns b wg set "wg-rb$$-b" private-key "$T_DIR/b.key" listen-port 51820 \
	peer "$(cat "$T_DIR/a.pub")" endpoint 10.55.0.1:51820 allowed-ips 100.127.1.1/32
in_ns a ip addr add 100.127.1.1/32 peer 100.127.1.2/32 dev "wg-rb$$-a"
in_ns b ip addr add 100.127.1.2/32 peer 100.127.1.1/32 dev "wg-rb$$-b"
in_ns a ip link set "wg-rb$$-a" mtu 1420 up
in_ns b ip link set "wg-rb$$-b" mtu 1420 up
wait_for 10 "wireguard-go tunnel" in_ns a ping -c 1 -W 1 100.127.1.2
measure wireguard-go 100.127.1.2
for n in a b; do in_ns $n ip link del "wg-rb$$-$n" 2>/dev/null || true; done

daemon_start a
daemon_start b
bench_peer
bench_tunnel_wait
ray_on b firewall add in allow --proto any --port 5201 >/dev/null
measure rayfish "$b4"
ray_on a firewall off >/dev/null
ray_on b firewall off >/dev/null
measure rayfish-fw-off "$b4"

# rayfish forced onto a relay: ns rr runs `ray relay` and links to ra and rb,
# but does not forward, so ra and rb reach each other only through it. They
# add each other by id alone.
netns_add ra
netns_add rb
netns_add rr
veth_pair ra rr 10.56.1.1/24 10.56.1.2/24
ip link add v-rb netns "$T_ID-rb" type veth peer name v-rr2 netns "$T_ID-rr"
in_ns rb ip addr add 10.56.2.1/24 dev v-rb
in_ns rr ip addr add 10.56.2.2/24 dev v-rr2
in_ns rb ip link set v-rb up
in_ns rr ip link set v-rr2 up
in_ns rb ip route add 10.56.1.2/32 via 10.56.2.2
bg_in_ns rr "$RAY" relay --listen 10.56.1.2:3340 --stun-port 0 --rate-limit 0 \
	--state-dir "$T_DIR/rr" >>"$T_DIR/relay.log" 2>&1
wait_for 10 "relay to listen" grep -q "listening on" "$T_DIR/relay.log"
daemon_start ra --relay http://10.56.1.2:3340
daemon_start rb --relay http://10.56.1.2:3340
ray_on ra debug peer add "$(json_get rb .id id)" >/dev/null
ray_on rb debug peer add "$(json_get ra .id id)" >/dev/null
rb4=$(json_get rb .ipv4 id)
ray_on rb firewall add in allow --proto tcp --port 5201 >/dev/null
iperf_server rb 5201
wait_for 20 "rayfish tunnel through the relay" in_ns ra ping -c 1 -W 1 "$rb4"
out=$(in_ns ra timeout 60 iperf3 -c "$rb4" -p 5201 -t "$SECS" -J) || fail "relay: iperf3 failed"
R[relay,tcp1]=$(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")
R[relay,rtt]=$(in_ns ra ping -c 50 -i 0.01 -q "$rb4" | awk -F/ '/^rtt/ { print $5 }')
path=$(ray_on ra status --json | jq -r '.peers[0].path')
printf "%-14s %8.2f %10s %12s %10.3f   (path: %s)\n" "rayfish-relay" "${R[relay,tcp1]}" "-" "-" \
	"${R[relay,rtt]}" "$path"

echo
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }'; }
echo "rayfish / wireguard-go: TCP $(ratio "${R[rayfish,tcp1]}" "${R[wireguard-go,tcp1]}")x," \
	"TCP×4 $(ratio "${R[rayfish,tcp4]}" "${R[wireguard-go,tcp4]}")x," \
	"UDP64 $(ratio "${R[rayfish,pps]}" "${R[wireguard-go,pps]}")x"
echo "rayfish / bare link:    TCP $(ratio "${R[rayfish,tcp1]}" "${R[bare,tcp1]}")x," \
	"TCP×4 $(ratio "${R[rayfish,tcp4]}" "${R[bare,tcp4]}")x," \
	"UDP64 $(ratio "${R[rayfish,pps]}" "${R[bare,pps]}")x"
echo "firewall on / off:      TCP $(ratio "${R[rayfish,tcp1]}" "${R[rayfish-fw-off,tcp1]}")x," \
	"TCP×4 $(ratio "${R[rayfish,tcp4]}" "${R[rayfish-fw-off,tcp4]}")x," \
	"UDP64 $(ratio "${R[rayfish,pps]}" "${R[rayfish-fw-off,pps]}")x (target >= 0.95)"
echo "rayfish relayed / direct: TCP $(ratio "${R[relay,tcp1]}" "${R[rayfish,tcp1]}")x (target >= 0.30)"
echo "RTT over the bare link: rayfish +$(awk -v x="${R[rayfish,rtt]}" -v y="${R[bare,rtt]}" 'BEGIN { printf "%.3f", x - y }') ms," \
	"wireguard-go +$(awk -v x="${R[wireguard-go,rtt]}" -v y="${R[bare,rtt]}" 'BEGIN { printf "%.3f", x - y }') ms"
