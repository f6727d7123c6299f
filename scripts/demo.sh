#!/bin/bash
# The demo: a relay and three rayfish nodes, each in its own network namespace
# on a small stand-in for the internet (a bridge, 198.18.0.0/24). Node a
# creates a network and invites b and c; they join with the codes alone and
# all three reach each other by mesh address, then by name through Magic
# DNS. Everything (namespaces, state,
# sockets, processes) is removed on exit.
# Usage: scripts/demo.sh [PATH_TO_RAY]  (needs root)
#
#   relay 198.18.0.1 ── bridge ── a 198.18.0.2, b 198.18.0.3, c 198.18.0.4
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces); try: sudo make demo"; exit 1; }
RAY=${1:-build/ray}
RAY=$(cd "$(dirname "$RAY")" && pwd)/$(basename "$RAY")
export RAY
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/../tests/integration/nat_lib.sh"

step() { echo; echo "== $*"; }

step "a relay (ray relay) on the bridge: it introduces nodes and forwards their traffic until direct paths work"
nat_inet
nat_relay
echo "relay at $RELAY_URL"

step "three nodes, a, b and c, each in its own namespace with its own daemon (ray daemon --relay $RELAY_URL)"
host=2
for n in a b c; do
	netns_add "$n"
	nat_attach "$n" "198.18.0.$host"
	nat_node "$n"
	echo "$n  198.18.0.$host  id ${NODE_ID[$n]}"
	host=$((host + 1))
done

step "a creates a network: ray create --name demo"
ray_on a create --name demo --hostname alpha

step "a invites b and c: ray invite demo (one code each, single use)"
code_b=$(json_get a .code invite demo --hostname beta)
code_c=$(json_get a .code invite demo --hostname gamma)
echo "code for b: $code_b"
echo "code for c: $code_c"

step "b and c join with their codes: ray join CODE"
ray_on b join "$code_b"
ray_on c join "$code_c"
# (A function, so that wait_for asks again on every try.)
lists_three() { json_get "$1" '.networks[0].members | length == 3' status; }
for n in a b c; do
	wait_for 30 "$n to list all three members" lists_three "$n"
done

step "each node pings the other two by mesh IPv4"
declare -A MESH_IP
for n in a b c; do
	MESH_IP[$n]=$(json_get "$n" '.networks[0].members[] | select(.self) | .ipv4' status)
done
for from in a b c; do
	for to in a b c; do
		[ "$from" != "$to" ] || continue
		wait_for 10 "$from to reach $to" in_ns "$from" ping -c 1 -W 1 "${MESH_IP[$to]}"
		printf '%s -> %s (%s): ' "$from" "$to" "${MESH_IP[$to]}"
		in_ns "$from" ping -c 3 -i 0.2 -W 2 "${MESH_IP[$to]}" | grep -E 'transmitted' |
			sed -E 's/, time [0-9]+ms//'
	done
done

step "Magic DNS: every member resolves the others by name (HOST.NETWORK.ray)"
echo "$ dig @100.100.100.53 beta.demo.ray   (on a)"
in_ns a dig +time=2 +tries=1 @100.100.100.53 beta.demo.ray +short
echo "$ dig -x ${MESH_IP[c]} @100.100.100.53   (on b)"
in_ns b dig +time=2 +tries=1 @100.100.100.53 -x "${MESH_IP[c]}" +short
echo "$ ping -c 2 gamma   (on a: its resolv.conf has our nameserver first and the search domain demo.ray)"
wait_for 10 "a to resolve gamma" in_ns a getent hosts gamma.demo.ray
in_ns a ping -c 2 -i 0.2 -W 2 gamma | head -3

step "ray status on a"
ray_on a status

step "ray netcheck on b: what b's network allows"
ray_on b netcheck

step "stopping the daemons"
for n in a b c; do
	daemon_stop "$n"
done
echo "demo finished: namespaces, state and sockets are removed on exit"
