#!/bin/bash
# Port mapping (path/portmap) against Debian's miniupnpd (nftables backend) on
# a home-router namespace:
#
#   inet (198.20.0.1) ── wan 198.20.0.2  router  lan 10.0.1.1 ── host (10.0.1.2)
#
# The router masquerades its LAN behind its WAN address and forwards nothing
# unsolicited from the WAN but what miniupnpd maps. The WAN is 198.20.0.0/24,
# not the 198.18.0.0/15 benchmarking block the NAT tests use: miniupnpd
# refuses to map on a reserved or private external address ("Port forwarding
# is impossible"), ext_ip= included, and the namespaces reach nothing outside.
#
#   1. NAT-PMP and UPnP on: portmap_probe in the host maps udp PORT by
#      NAT-PMP to 198.20.0.2:PORT; a datagram from the internet to it reaches
#      the host (and did not before); after the probe exits, the mapping is
#      gone from miniupnpd and the datagram no longer arrives.
#   2. UPnP only: the same by UPnP IGD.
#   3. No miniupnpd: upnp=0 natpmp=0 mapped=0 in under 5 s.
#   4. miniupnpd starts while the probe runs: a refresh finds it, and the
#      callback reports the change.
#
#   sudo RAY=$PWD/build/ray bash tests/integration/portmap.sh
. "$(dirname "$0")/lib.sh"

HELPERS=$(dirname "$RAY")/tests
PORT=41383
WAN_IP=198.20.0.2
INET_IP=198.20.0.1
MINIUPNPD=/usr/sbin/miniupnpd
[ -x "$HELPERS/portmap_probe" ] || fail "no portmap_probe in $HELPERS (run make tests)"
[ -x "$MINIUPNPD" ] || fail "no $MINIUPNPD (apt-get install miniupnpd-nftables)"
PYTHON=$(command -v /usr/bin/python3 python3 | head -1)
[ -n "$PYTHON" ] || fail "no python3"

netns_add inet
netns_add router
netns_add host
ip link add wan netns "$T_ID-router" type veth peer name wan netns "$T_ID-inet"
ip link add lan netns "$T_ID-router" type veth peer name eth0 netns "$T_ID-host"
in_ns router ip addr add "$WAN_IP/24" dev wan
in_ns router ip addr add 10.0.1.1/24 dev lan
in_ns inet ip addr add "$INET_IP/24" dev wan
in_ns host ip addr add 10.0.1.2/24 dev eth0
in_ns router ip link set wan up
in_ns router ip link set lan up
in_ns inet ip link set wan up
in_ns host ip link set eth0 up
in_ns host ip route add default via 10.0.1.1
in_ns router sysctl -qw net.ipv4.ip_forward=1

# The router's firewall, in its own namespace only. miniupnpd-nftables adds
# its rules to three chains it expects to exist (its nft_init.sh would make
# them, but needs miniupnpd_functions.sh, which Debian does not ship):
# "miniupnpd" (filter: accept forwarded traffic to a mapping),
# "prerouting_miniupnpd" (DNAT) and "postrouting_miniupnpd" (SNAT), all in
# table inet filter (its upnp_*table_name / upnp_*chain defaults, spelled out
# in the config below).
in_ns router nft -f - <<-EOF
	table ip nat {
		chain post {
			type nat hook postrouting priority srcnat;
			oifname "wan" masquerade
		}
	}
	table inet filter {
		chain forward {
			type filter hook forward priority filter; policy accept;
			iifname "wan" ct state established,related accept
			iifname "wan" jump miniupnpd
			iifname "wan" drop
		}
		chain miniupnpd {
		}
		chain prerouting {
			type nat hook prerouting priority dstnat; policy accept;
			jump prerouting_miniupnpd
		}
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			jump postrouting_miniupnpd
		}
		chain prerouting_miniupnpd {
		}
		chain postrouting_miniupnpd {
		}
	}
EOF

# miniupnpd_start NAME NATPMP(yes|no): miniupnpd in the foreground in the
# router, config, lease file, pid file and log under $T_DIR/NAME*.
MINIUPNPD_PID=
miniupnpd_start() {
	local name=$1 natpmp=$2
	cat >"$T_DIR/$name.conf" <<-EOF
		ext_ifname=wan
		listening_ip=lan
		port=0
		enable_natpmp=$natpmp
		enable_upnp=yes
		secure_mode=yes
		system_uptime=no
		notify_interval=60
		clean_ruleset_interval=0
		uuid=6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
		serial=12345678
		model_number=1
		lease_file=$T_DIR/$name.leases
		upnp_table_name=filter
		upnp_nat_table_name=filter
		upnp_forward_chain=miniupnpd
		upnp_nat_chain=prerouting_miniupnpd
		upnp_nat_postrouting_chain=postrouting_miniupnpd
		allow 1024-65535 10.0.1.0/24 1024-65535
		deny 0-65535 0.0.0.0/0 0-65535
	EOF
	# A simple command, not a function, so that $! is miniupnpd itself.
	ip netns exec "$T_ID-router" "$MINIUPNPD" -d -f "$T_DIR/$name.conf" \
		-P "$T_DIR/$name.pid" >>"$T_DIR/$name.log" 2>&1 &
	MINIUPNPD_PID=$!
	T_PIDS+=("$MINIUPNPD_PID")
	wait_for 10 "miniupnpd ($name) to listen" grep -q "HTTP listening on port" "$T_DIR/$name.log"
	if [ "$natpmp" = yes ]; then
		wait_for 10 "miniupnpd ($name) NAT-PMP" grep -q "Listening for NAT-PMP" \
			"$T_DIR/$name.log"
	fi
	! grep -q "Port forwarding is impossible" "$T_DIR/$name.log" ||
		fail "miniupnpd refuses to map on $WAN_IP"
}

miniupnpd_stop() {
	kill -TERM "$MINIUPNPD_PID"
	wait_gone "$MINIUPNPD_PID" 10
	in_ns router nft flush chain inet filter miniupnpd
	in_ns router nft flush chain inet filter prerouting_miniupnpd
	in_ns router nft flush chain inet filter postrouting_miniupnpd
}

# A UDP receiver on the host's PORT for the whole test: one line per datagram.
ip netns exec "$T_ID-host" "$PYTHON" -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    print(s.recv(2048).decode(errors="replace"), flush=True)
' "$PORT" >"$T_DIR/rx.out" 2>"$T_DIR/rx.log" &
T_PIDS+=($!)

# udp_send TEXT: one datagram from the internet to the router's WAN PORT,
# from a new socket (bash's /dev/udp: a new source port each time, so no old
# conntrack entry applies).
udp_send() {
	in_ns inet bash -c 'printf %s "$1" >"/dev/udp/$2/$3"' - "$1" "$WAN_IP" "$PORT"
}
received() { grep -qx "$1" "$T_DIR/rx.out"; }
send_received() { udp_send "$1" && received "$1"; }

# not_received TEXT: send it three times; it must not arrive.
not_received() {
	local i
	for i in 1 2 3; do
		udp_send "$1"
		sleep 0.2
	done
	! received "$1" || fail "datagram \"$1\" reached the host"
}

# Not grep -q: under pipefail, nft's SIGPIPE on an early exit fails the pipe.
mapping_listed() {
	in_ns router nft list chain inet filter prerouting_miniupnpd | grep "dport $PORT " >/dev/null
}

# probe_hold NAME: portmap_probe --hold in the host; PROBE_PID.
PROBE_PID=
probe_hold() {
	ip netns exec "$T_ID-host" "$HELPERS/portmap_probe" "$PORT" 60 --hold \
		>"$T_DIR/$1.out" 2>"$T_DIR/$1.log" &
	PROBE_PID=$!
	T_PIDS+=("$PROBE_PID")
}

probe_stop() {
	kill -TERM "$PROBE_PID"
	wait_gone "$PROBE_PID" 10
	[ "$WAIT_RC" -eq 0 ] || fail "portmap_probe exited with status $WAIT_RC"
}

# mapped_case NAME NATPMP METHOD EXPECT: map, prove it, unmap, prove that.
mapped_case() {
	local name=$1 natpmp=$2 method=$3 expect=$4 line
	miniupnpd_start "$name" "$natpmp"
	not_received "$name-before"
	probe_hold "$name"
	wait_for 10 "a mapping ($name)" grep -q "mapped=1" "$T_DIR/$name.out"
	line=$(grep -m1 "mapped=1" "$T_DIR/$name.out")
	log "$name: $line"
	case $line in
	"$expect external=$WAN_IP:$PORT method=$method lifetime=7200 "*) ;;
	*) fail "$name: expected \"$expect external=$WAN_IP:$PORT method=$method\"" ;;
	esac
	grep -q "port mapping ($method): $WAN_IP:$PORT -> udp $PORT" "$T_DIR/$name.log" ||
		fail "$name: no info log line for the mapping"
	mapping_listed || fail "$name: miniupnpd lists no mapping for $PORT"
	wait_for 5 "a datagram through the mapping ($name)" send_received "$name-mapped"

	probe_stop
	! mapping_listed || fail "$name: the mapping is still there after the probe exited"
	if grep -q ":$PORT:" "$T_DIR/$name.leases" 2>/dev/null; then
		fail "$name: the mapping is still in miniupnpd's lease file"
	fi
	not_received "$name-after"
	miniupnpd_stop
	log "PASS $name"
}

log "1. NAT-PMP and UPnP"
mapped_case natpmp yes nat-pmp "upnp=1 natpmp=1 mapped=1"

log "2. UPnP only"
mapped_case upnp no upnp "upnp=1 natpmp=0 mapped=1"

log "3. no miniupnpd"
start=$(date +%s%N)
rc=0
timeout 10 ip netns exec "$T_ID-host" "$HELPERS/portmap_probe" "$PORT" 8 \
	>"$T_DIR/none.out" 2>"$T_DIR/none.log" || rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
log "3: $(cat "$T_DIR/none.out") (${elapsed} ms)"
[ $rc -eq 0 ] || fail "portmap_probe exited with status $rc"
grep -q "^upnp=0 natpmp=0 mapped=0 external=- method=- " "$T_DIR/none.out" ||
	fail "expected nothing found"
[ "$elapsed" -lt 5000 ] || fail "nothing found only after $elapsed ms"
log "PASS none"

log "4. miniupnpd appears, the probe refreshes"
probe_hold late
wait_for 5 "the first result (late)" grep -q "mapped=0" "$T_DIR/late.out"
miniupnpd_start late yes
kill -USR1 "$PROBE_PID"
wait_for 10 "a mapping after the refresh" grep -q "mapped=1" "$T_DIR/late.out"
log "4: $(grep -m1 "mapped=1" "$T_DIR/late.out")"
[ "$(wc -l <"$T_DIR/late.out")" -eq 2 ] || fail "expected two results, got: $(cat "$T_DIR/late.out")"
wait_for 5 "a datagram through the mapping (late)" send_received "late-mapped"
probe_stop
! mapping_listed || fail "late: the mapping is still there after the probe exited"
miniupnpd_stop
log "PASS late"

log "PASS portmap"
