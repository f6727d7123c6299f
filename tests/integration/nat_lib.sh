# The NAT test topology, shared by the NAT traversal tests. Source after lib.sh.
#
#   "internet" (ns inet): a bridge joining the relay and the NAT routers'
#   WAN sides, 198.18.0.0/24 (benchmarking space: public-looking, not local)
#
#     relay 198.18.0.1 ── inet bridge ── 198.18.0.2 nata ── 10.0.1.0/24 ── a (10.0.1.2)
#                                    └── 198.18.0.3 natb ── 10.0.2.0/24 ── b (10.0.2.2)
#
# A NAT router masquerades its LAN behind its WAN address and, like a home
# router, drops unsolicited packets from the WAN (to itself and forwarded).
# Mapping kinds:
#   eim        port-preserving masquerade: endpoint-independent mapping
#   symmetric  fully-random ports: a new mapping per destination

RELAY_IP=198.18.0.1
RELAY_PORT=3340
RELAY_URL=http://$RELAY_IP:$RELAY_PORT

# nat_inet: the internet namespace with its bridge.
nat_inet() {
	netns_add inet
	in_ns inet ip link add br0 type bridge
	in_ns inet ip link set br0 up
}

# nat_attach NAME ADDR: a veth from namespace NAME (device "wan") to the
# internet bridge, NAME's side with ADDR/24.
nat_attach() {
	local n=$1 addr=$2
	ip link add "wan" netns "$T_ID-$n" type veth peer name "i-$n" netns "$T_ID-inet"
	in_ns inet ip link set "i-$n" master br0 up
	in_ns "$n" ip addr add "$addr/24" dev wan
	in_ns "$n" ip link set wan up
}

# nat_router NAME WAN_ADDR LAN_NET KIND: router namespace NAME with WAN_ADDR on
# the internet and LAN_NET.1/24 on device "lan".
nat_router() {
	local n=$1 wan=$2 lan=$3 kind=$4 masq
	netns_add "$n"
	nat_attach "$n" "$wan"
	in_ns "$n" ip link add lan type bridge
	in_ns "$n" ip addr add "$lan.1/24" dev lan
	in_ns "$n" ip link set lan up
	in_ns "$n" sysctl -qw net.ipv4.ip_forward=1
	case $kind in
	eim) masq="masquerade" ;;
	symmetric) masq="masquerade fully-random" ;;
	*) fail "unknown NAT kind $kind" ;;
	esac
	in_ns "$n" nft -f - <<-EOF
		table ip nat {
			chain post {
				type nat hook postrouting priority srcnat;
				oifname "wan" $masq
			}
		}
		table inet filter {
			chain input {
				type filter hook input priority filter; policy accept;
				iifname "wan" ct state established,related accept
				iifname "wan" drop
			}
			chain forward {
				type filter hook forward priority filter; policy accept;
				iifname "wan" ct state established,related accept
				iifname "wan" drop
			}
		}
	EOF
}

# nat_host NAME ROUTER ADDR: namespace NAME on ROUTER's LAN with ADDR/24 and a
# default route via the router.
nat_host() {
	local n=$1 router=$2 addr=$3 gw
	gw=${addr%.*}.1
	netns_add "$n"
	ip link add "eth0" netns "$T_ID-$n" type veth peer name "l-$n" netns "$T_ID-$router"
	in_ns "$router" ip link set "l-$n" master lan up
	in_ns "$n" ip addr add "$addr/24" dev eth0
	in_ns "$n" ip link set eth0 up
	in_ns "$n" ip route add default via "$gw"
}

# nat_relay: the relay namespace on the internet, `ray relay` running.
nat_relay() {
	netns_add relay
	nat_attach relay "$RELAY_IP"
	nat_relay_start
}

# nat_relay_start: (re)start `ray relay` in its namespace; RELAY_PID.
RELAY_STARTS=0
nat_relay_start() {
	local log_file
	RELAY_STARTS=$((RELAY_STARTS + 1))
	log_file=$T_DIR/relay-$RELAY_STARTS.log
	mkdir -p "$T_DIR/relay"
	ip netns exec "$T_ID-relay" "$RAY" relay --listen "$RELAY_IP:$RELAY_PORT" \
		--state-dir "$T_DIR/relay/state" --rate-limit 0 >>"$log_file" 2>&1 &
	RELAY_PID=$!
	T_PIDS+=("$RELAY_PID")
	wait_for 10 "relay to listen" grep -q "listening on" "$log_file"
}

# nat_node NAME [ARGS...]: a daemon in NAME with the relay as its home
# relay; fills NODE_ID and NODE_IP4.
nat_node() {
	local n=$1
	shift
	daemon_start "$n" --relay "$RELAY_URL" "$@"
	NODE_ID[$n]=$(json_get "$n" .id status)
	NODE_IP4[$n]=$(json_get "$n" .ipv4 status)
}

# nat_public_nodes FIRST NAME...: a namespace per NAME straight on the
# internet bridge (no NAT), at 198.18.0.FIRST, FIRST+1, ..., each running a
# daemon with the relay as its home relay.
nat_public_nodes() {
	local i=$1 n
	shift
	for n in "$@"; do
		netns_add "$n"
		nat_attach "$n" "198.18.0.$i"
		i=$((i + 1))
	done
	for n in "$@"; do
		nat_node "$n"
	done
}

# nat_peer A B: each adds the other by id alone.
nat_peer() {
	run ray_on "$1" debug peer add "${NODE_ID[$2]}" >/dev/null
	run ray_on "$2" debug peer add "${NODE_ID[$1]}" >/dev/null
}

# peer_field A B FIELD: FIELD of B in A's status.
peer_field() {
	json_get "$1" ".peers[] | select(.id == \"${NODE_ID[$2]}\") | .$3" status
}

peer_path_is() { [ "$(peer_field "$1" "$2" path)" = "$3" ]; }
