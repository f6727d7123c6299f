#!/bin/bash
# The demo: a small mesh of rayfish nodes, each in its own network namespace
# with its own state dir and socket, joined by a veth link. They learn each
# other as static peers (networks and invites come later), then talk through
# their WireGuard sessions. Usage: scripts/demo.sh [PATH_TO_RAY]  (needs root)
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces); try: sudo make demo"; exit 1; }
RAY=${1:-build/ray}
RAY=$(cd "$(dirname "$RAY")" && pwd)/$(basename "$RAY")
export RAY
. "$(dirname "$0")/../tests/integration/lib.sh"

step() { echo; echo "== $*"; }

step "two nodes, alpha and beta, each in its own network namespace, each the other's peer"
peer_pair alpha beta 192.168.77
id_b=${NODE_ID[beta]}
ip_b=${NODE_IP4[beta]}
ip6_b=${NODE_IP6[beta]}
echo "alpha ${NODE_ID[alpha]}"
echo "beta  $id_b"
echo "(each added the other: ray debug peer add NODE_ID --endpoint IP:PORT)"

step "alpha pings beta's mesh addresses ($ip_b, $ip6_b)"
in_ns alpha ping -c 3 -i 0.2 "$ip_b" | tail -2
in_ns alpha ping -6 -c 3 -i 0.2 "$ip6_b" | tail -1

step "ray ping: a round trip over the encrypted control channel"
ray_on alpha ping "${id_b:0:10}" -c 3

step "iperf3 through the tunnel, 2 seconds"
in_ns beta iperf3 -s -D -1 -p 5201
sleep 0.3
in_ns alpha timeout 30 iperf3 -c "$ip_b" -p 5201 -t 2 | grep -E "sender|receiver"

step "ray status on alpha"
ray_on alpha status

step "beta goes down (standby): data stops, the control channel still answers"
ray_on beta down
in_ns alpha ping -c 1 -W 1 "$ip_b" >/dev/null && echo "unexpected: data flowed" || echo "ping: no answer (as intended)"
ray_on alpha ping "${id_b:0:10}" -c 1
ray_on beta up

step "stopping both daemons"
daemon_stop alpha
daemon_stop beta
echo "demo finished: namespaces, state and sockets are removed on exit"
