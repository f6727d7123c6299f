#!/bin/bash
# The demo: a small mesh of rayfish nodes, each in its own network namespace
# with its own state dir and socket, joined by a veth link. For now it shows
# the nodes' identities and addresses; later stages add sessions, networks
# and names. Usage: scripts/demo.sh [PATH_TO_RAY]  (needs root)
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces); try: sudo make demo"; exit 1; }
RAY=${1:-build/ray}
RAY=$(cd "$(dirname "$RAY")" && pwd)/$(basename "$RAY")
export RAY
. "$(dirname "$0")/../tests/integration/lib.sh"

echo "== two nodes, alpha and beta, in their own network namespaces"
netns_add alpha
netns_add beta
veth_pair alpha beta 192.168.77.1/24 192.168.77.2/24
daemon_start alpha
daemon_start beta

for n in alpha beta; do
	echo
	echo "== ray status on $n"
	ray_on "$n" status
done

echo
echo "== ray id --json on beta"
ray_on beta id --json

echo
echo "== stopping both daemons"
daemon_stop alpha
daemon_stop beta
echo "demo finished: namespaces, state and sockets are removed on exit"
