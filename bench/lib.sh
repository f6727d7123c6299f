# Shared by the netns benches: the root check, the ray binary, the test
# helpers (namespaces, daemons, cleanup on exit) and the two rayfish nodes
# they measure.
#
#   . "$(dirname "$0")/lib.sh" [PATH_TO_RAY]
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespaces)"; exit 1; }
RAY=${1:-build/ray}
RAY=$(cd "$(dirname "$RAY")" && pwd)/$(basename "$RAY")
export RAY
. "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

# bench_link: namespaces a (10.55.0.1) and b (10.55.0.2) joined by one veth pair.
bench_link() {
	netns_add a
	netns_add b
	veth_pair a b 10.55.0.1/24 10.55.0.2/24
}

# bench_peer: the daemons in a and b add each other as static peers.
bench_peer() {
	ray_on a debug peer add "$(json_get b .id id)" --endpoint 10.55.0.2:41383 >/dev/null
	ray_on b debug peer add "$(json_get a .id id)" --endpoint 10.55.0.1:41383 >/dev/null
}

# bench_tunnel_wait: sets b4 to b's mesh IPv4 and waits until a reaches it.
bench_tunnel_wait() {
	b4=$(json_get b .ipv4 id)
	wait_for 10 "rayfish tunnel" in_ns a ping -c 1 -W 1 "$b4"
}
