#!/bin/bash
# The relay's STUN responder (`ray relay --stun-port`), dual-stack on [::]:
#
#   relay 203.0.113.1 / fd00:203::1 ── pub ── 203.0.113.2 / fd00:203::2 router
#   router 192.168.77.1 ── lan ── 192.168.77.2 client   (nftables masquerade)
#
# Our own client (tests/helpers/stun_query, RFC 5389) over IPv4 and IPv6 from
# the router sees the router's address; from behind the NAT, the router's
# public address, never the client's private one. Debian's `stun` (RFC 3489,
# no magic cookie) gets a MAPPED-ADDRESS answer too. The 101 of an upgrade
# carries Rayfish-Stun-Port. Garbage on the STUN port is ignored, and the
# relay exits 0 at SIGTERM (so, under ASan, without leaks).
#
#   sudo RAY=$PWD/build/ray bash tests/integration/relay_stun.sh
. "$(dirname "$0")/lib.sh"

HELPERS=$(dirname "$RAY")/tests
PORT=3340
STUN_PORT=3478
[ -x "$HELPERS/stun_query" ] || fail "no helpers in $HELPERS (run make tests)"
command -v stun >/dev/null || fail "no stun client (apt-get install stun-client)"

netns_add relay
netns_add router
netns_add client
ip link add pub netns "$T_ID-relay" type veth peer name pub netns "$T_ID-router"
ip link add lan netns "$T_ID-router" type veth peer name lan netns "$T_ID-client"
in_ns relay ip addr add 203.0.113.1/24 dev pub
in_ns relay ip addr add fd00:203::1/64 dev pub nodad
in_ns router ip addr add 203.0.113.2/24 dev pub
in_ns router ip addr add fd00:203::2/64 dev pub nodad
in_ns router ip addr add 192.168.77.1/24 dev lan
in_ns client ip addr add 192.168.77.2/24 dev lan
for l in relay:pub router:pub router:lan client:lan; do
	in_ns "${l%%:*}" ip link set "${l##*:}" up
done
in_ns client ip route add default via 192.168.77.1
in_ns router sysctl -qw net.ipv4.ip_forward=1
in_ns router nft -f - <<'NFT'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "pub" masquerade
	}
}
NFT

mkdir -p "$T_DIR/relay"
# A simple command, not a function, so that $! is the server itself.
ip netns exec "$T_ID-relay" "$RAY" relay --listen "[::]:$PORT" --stun-port "$STUN_PORT" \
	--state-dir "$T_DIR/relay/state" >>"$T_DIR/relay.log" 2>&1 &
RELAY_PID=$!
T_PIDS+=("$RELAY_PID")
wait_for 10 "relay to listen" grep -q "listening on" "$T_DIR/relay.log"
grep -q "relay: STUN on udp $STUN_PORT" "$T_DIR/relay.log" || fail "no 'STUN on udp' log line"

# 1. our client, both families, from the router (no NAT in between)
out=$(run in_ns router "$HELPERS/stun_query" "203.0.113.1:$STUN_PORT" --local-port 40001)
log "router, IPv4: $out"
[ "$out" = "203.0.113.2:40001" ] || fail "router over IPv4 mapped to '$out'"
out=$(run in_ns router "$HELPERS/stun_query" "[fd00:203::1]:$STUN_PORT" --local-port 40002)
log "router, IPv6: $out"
[ "$out" = "[fd00:203::2]:40002" ] || fail "router over IPv6 mapped to '$out'"
out=$(run in_ns router "$HELPERS/stun_query" "203.0.113.1:$((STUN_PORT + 1))" --local-port 40003)
log "router, alternate port: $out"
[ "$out" = "203.0.113.2:40003" ] || fail "the alternate STUN port mapped to '$out'"

# 2. our client behind the NAT sees the router's public address
out=$(run in_ns client "$HELPERS/stun_query" "203.0.113.1:$STUN_PORT")
log "client behind NAT: $out"
case $out in
203.0.113.2:[0-9]*) ;;
*) fail "client behind NAT mapped to '$out', not the router's 203.0.113.2" ;;
esac

# 3. Debian's stun client (RFC 3489): it exits non-zero by design (its
# return value encodes the NAT type), so only its output counts
rc=0
timeout 60 ip netns exec "$T_ID-client" stun "203.0.113.1:$STUN_PORT" -v >"$T_DIR/stun.out" 2>&1 ||
	rc=$?
log "stun exited $rc; $(grep -c 'MappedAddress' "$T_DIR/stun.out") MappedAddress lines"
[ $rc -ne 124 ] || fail "stun client hung"
grep -q "MappedAddress = 203\.0\.113\.2:[0-9]" "$T_DIR/stun.out" || {
	cat "$T_DIR/stun.out"
	fail "Debian's stun client got no mapping to the router's address"
}
if grep "MappedAddress" "$T_DIR/stun.out" | grep -q "192\.168\.77\."; then
	fail "a private address leaked into a mapping"
fi
rc=0
timeout 60 ip netns exec "$T_ID-router" stun "203.0.113.1:$STUN_PORT" -v >"$T_DIR/stun2.out" 2>&1 ||
	rc=$?
grep -q "MappedAddress = 203\.0\.113\.2:[0-9]" "$T_DIR/stun2.out" ||
	fail "Debian's stun client on the router got no mapping"

# 4. garbage on the STUN port: ignored, never fatal
cat >"$T_DIR/garbage.py" <<'PY'
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = (sys.argv[1], int(sys.argv[2]))
for n in list(range(0, 64)) + [200, 548, 1499, 1500, 1501, 4000, 65000]:
    s.sendto(os.urandom(n), dst)
# well-formed headers with lying lengths and attributes running past the end
for n in range(0, 40, 4):
    s.sendto(struct.pack("!HHI12s", 1, n, 0x2112A442, os.urandom(12)) + os.urandom(8), dst)
s.sendto(struct.pack("!HHI12sHHI", 1, 8, 0x2112A442, os.urandom(12), 0x8028, 4, 0), dst)
# a success response and an indication sent to the server: not requests
s.sendto(struct.pack("!HHI12s", 0x0101, 0, 0x2112A442, os.urandom(12)), dst)
s.sendto(struct.pack("!HHI12s", 0x0011, 0, 0x2112A442, os.urandom(12)), dst)
# RFC 3489 requests asking to change address or port: cannot, so no answer
for flags in (2, 4, 6):
    s.sendto(struct.pack("!HH16sHHI", 1, 8, os.urandom(16), 3, 4, flags), dst)
s.settimeout(0.5)
try:
    d = s.recv(2000)
    print("unexpected answer", d.hex()); sys.exit(1)
except socket.timeout:
    pass
print("garbage ignored")
PY
run in_ns router python3 "$T_DIR/garbage.py" 203.0.113.1 "$STUN_PORT"
out=$(in_ns router "$HELPERS/stun_query" "203.0.113.1:$STUN_PORT")
[ "${out%:*}" = "203.0.113.2" ] || fail "no answer after the garbage"

# 5. the upgrade's 101 says where STUN is
cat >"$T_DIR/upgrade.py" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"GET /relay HTTP/1.1\r\nHost: relay\r\nUpgrade: rayfish-relay-1\r\n"
          b"Connection: Upgrade\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.split(b"\r\n\r\n")[0].decode())
PY
head=$(in_ns router python3 "$T_DIR/upgrade.py" 203.0.113.1 "$PORT")
log "101 head: $(echo "$head" | tr -d '\r' | tr '\n' '|')"
echo "$head" | grep -q "^HTTP/1.1 101 " || fail "no 101"
echo "$head" | tr -d '\r' | grep -qx "Rayfish-Stun-Port: $STUN_PORT" ||
	fail "the 101 has no Rayfish-Stun-Port: $STUN_PORT"

kill -TERM "$RELAY_PID"
wait_gone "$RELAY_PID" 15
[ "$WAIT_RC" -eq 0 ] || fail "relay exited with status $WAIT_RC"
grep "relay: stun" "$T_DIR/relay.log" | tail -1
answered=$(sed -n 's/.*relay: stun +\([0-9]*\) answered.*/\1/p' "$T_DIR/relay.log" | tail -1)
[ "${answered:-0}" -ge 6 ] || fail "the relay counted ${answered:-0} STUN answers, expected >= 6"
log "PASS relay_stun"
