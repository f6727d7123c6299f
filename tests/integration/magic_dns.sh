#!/bin/bash
# Magic DNS (issue 6): every member resolves HOST.NETWORK.ray, live.
#
#   relay 198.18.0.1 ── inet bridge ── a 198.18.0.2   (system DNS: resolv.conf mode)
#                                  ├── b 198.18.0.3
#                                  ├── c 198.18.0.4   (--system-dns off: forwards)
#                                  └── upstream 198.18.0.53 (dnsmasq: the host's resolver)
#
# a and b answer with dig at 100.100.100.53 / fd72:6179::53 (A, AAAA, PTR,
# NXDOMAIN, NODATA); a's namespace resolv.conf gets our nameserver first and
# the search domain, so getent and ping resolve names, and ray down, ray
# shutdown and a SIGKILL plus restart leave it byte for byte as it was;
# renames and kicks change the answers within 5 s; c forwards other names to
# dnsmasq, over TCP when the UDP answer is truncated; clients ask over TCP
# too (dig +tcp, several queries on one connection, pipelined in one
# segment, split over segments, half-closed), for our names and forwarded
# ones; garbage is dropped or FORMERR'd and a flood is cut per source.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

UPSTREAM=198.18.0.53

nat_inet
nat_relay

log "upstream resolver: dnsmasq with a name and a large TXT set (UDP answers cut at 512 bytes)"
netns_add upstream
nat_attach upstream "$UPSTREAM"
txt=()
for i in $(seq 12); do
	txt+=(--txt-record="big.example.test,record-$i-$(printf 'x%.0s' $(seq 60))")
done
bg_in_ns upstream dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
	--pid-file= --listen-address="$UPSTREAM" --bind-interfaces --edns-packet-max=512 \
	--local=/example.test/ --address=/www.example.test/192.0.2.7 "${txt[@]}" >"$T_DIR/dnsmasq.log" 2>&1
wait_for 10 "dnsmasq to answer" in_ns upstream dig +time=1 +tries=1 @"$UPSTREAM" www.example.test

# The nodes' resolv.conf before their daemons start: what the user had.
i=2
for n in a b c; do
	netns_add "$n"
	nat_attach "$n" "198.18.0.$i"
	i=$((i + 1))
	printf '# the user'"'"'s resolver\nnameserver %s\nsearch example.test\noptions timeout:2\n' \
		"$UPSTREAM" >"$(ns_resolv_conf "$n")"
done
cp "$(ns_resolv_conf a)" "$T_DIR/a-resolv.orig"
nat_node a
nat_node b
nat_node c --system-dns off

run ray_on a create --name net1 --hostname a >/dev/null
for n in b c; do
	code=$(json_get a .code invite net1 --hostname "$n")
	run ray_on "$n" join "$code" >/dev/null
done
has_members() { [ "$(json_get "$1" '.networks[0].members | length' status)" = "$2" ]; }
for n in a b c; do
	wait_for 10 "$n to see three members" has_members "$n" 3
done
b4=$(json_get b .ipv4 status)
b6=$(json_get b .ipv6 status)

# q NODE ARGS...: dig from NODE at Magic DNS, short answers.
q() {
	local n=$1
	shift
	in_ns "$n" dig +time=2 +tries=1 @100.100.100.53 "$@"
}
short() { q "$@" +short; }
# answers NODE NAME TYPE EXPECTED: for wait_for
answers() { [ "$(short "$1" "$2" "$3")" = "$4" ]; }
rcode_is() { q "$1" "$2" "$3" | grep -q "status: $4"; }

log "forward and reverse names, from a and from b"
for n in a b; do
	[ "$(short "$n" b.net1.ray A)" = "$b4" ] || fail "$n: b.net1.ray A: $(short "$n" b.net1.ray A)"
	[ "$(short "$n" b.net1.ray AAAA)" = "$b6" ] || fail "$n: b.net1.ray AAAA: $(short "$n" b.net1.ray AAAA)"
	[ "$(short "$n" b.ray A)" = "$b4" ] || fail "$n: b.ray A"
	[ "$(short "$n" -x "$b4")" = "b.net1.ray." ] || fail "$n: dig -x $b4: $(short "$n" -x "$b4")"
	[ "$(short "$n" -x "$b6")" = "b.net1.ray." ] || fail "$n: dig -x $b6"
	rcode_is "$n" nope.net1.ray A NXDOMAIN || fail "$n: unknown name is not NXDOMAIN"
	q "$n" b.net1.ray MX | grep -q "status: NOERROR" || fail "$n: MX of a host is not NODATA"
	[ -z "$(short "$n" b.net1.ray MX)" ] || fail "$n: MX of a host has an answer"
done
[ "$(in_ns a dig +time=2 +tries=1 @fd72:6179::53 c.net1.ray A +short)" = "$(json_get c .ipv4 status)" ] ||
	fail "the IPv6 resolver address does not answer"

log "DNS over TCP: our names, several queries on one connection, pipelined, split, half-closed"
for n in a b; do
	[ "$(short "$n" +tcp b.net1.ray A)" = "$b4" ] || fail "$n: dig +tcp b.net1.ray A: $(short "$n" +tcp b.net1.ray A)"
	[ "$(short "$n" +tcp -x "$b6")" = "b.net1.ray." ] || fail "$n: dig +tcp -x $b6"
	q "$n" +tcp nope.net1.ray A | grep -q "status: NXDOMAIN" || fail "$n: dig +tcp of an unknown name"
done
[ "$(in_ns a dig +tcp +time=2 +tries=1 @fd72:6179::53 b.net1.ray AAAA +short)" = "$b6" ] ||
	fail "dig +tcp at the IPv6 resolver address"
conns=$(json_get a .dns.tcp_connections status)
got=$(q a +tcp +keepopen +short b.net1.ray A b.net1.ray AAAA b.ray A | tr '\n' ' ')
[ "$got" = "$b4 $b6 $b4 " ] || fail "dig +tcp +keepopen, three queries: $got"
[ "$(json_get a .dns.tcp_connections status)" = $((conns + 1)) ] ||
	fail "dig +keepopen used $(($(json_get a .dns.tcp_connections status) - conns)) connections"
in_ns a python3 - "$b4" <<-'EOF'
	import socket, struct, sys, time
	b4 = socket.inet_aton(sys.argv[1])
	def query(i, name, qtype=1):
	    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split("."))
	    return struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", qtype, 1)
	def framed(m):
	    return struct.pack(">H", len(m)) + m
	def answers(s, n, buf=b""):
	    out = []
	    while len(out) < n:
	        if len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
	            l = struct.unpack(">H", buf[:2])[0]
	            out.append(buf[2:2 + l])
	            buf = buf[2 + l:]
	            continue
	        d = s.recv(65536)
	        assert d, "closed before %d answers" % n
	        buf += d
	    assert not buf, buf
	    return out
	def conn(port=53):
	    s = socket.create_connection(("100.100.100.53", port), timeout=3)
	    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	    return s
	ids = lambda ms: [struct.unpack(">H", m[:2])[0] for m in ms]
	rcode = lambda m: m[3] & 0xf
	# three queries in one segment: three answers, in order
	s = conn()
	s.sendall(framed(query(1, "b.net1.ray")) + framed(query(2, "b.net1.ray", 28)) +
	          framed(query(3, "nope.net1.ray")))
	a = answers(s, 3)
	assert ids(a) == [1, 2, 3] and rcode(a[0]) == 0 and rcode(a[2]) == 3, a
	assert a[0].endswith(b4), a[0]
	# one query in three segments, on the same connection
	m = framed(query(4, "b.net1.ray"))
	for part in (m[:1], m[1:7], m[7:]):
	    s.sendall(part)
	    time.sleep(0.05)
	assert ids(answers(s, 1)) == [4]
	# a query, then our FIN at once: the answer, then the server's FIN
	s.sendall(framed(query(5, "b.net1.ray")))
	s.shutdown(socket.SHUT_WR)
	assert ids(answers(s, 1)) == [5]
	assert s.recv(16) == b""
	s.close()
	# a message over 4096 bytes resets the connection
	s = conn()
	s.sendall(struct.pack(">H", 5000) + b"x" * 100)
	try:
	    d = s.recv(16)
	    raise AssertionError("no reset for an oversize query: %r" % d)
	except ConnectionResetError:
	    pass
	s.close()
	# another port of the resolver address: refused at once
	try:
	    conn(5353)
	    raise AssertionError("port 5353 accepted a connection")
	except ConnectionRefusedError:
	    pass
	print("pipelined, split, half-closed, oversize and refused: ok")
	EOF
json_get a '.dns.tcp_queries >= 10 and .dns.tcp_open == 0' status >/dev/null ||
	fail "TCP counters: $(ray_on a status --json | jq -c .dns)"

log "system integration (resolv.conf mode) on a"
head -2 "$(ns_resolv_conf a)" | grep -q "^nameserver 100.100.100.53$" ||
	fail "our nameserver is not first: $(cat "$(ns_resolv_conf a)")"
grep -q "^nameserver $UPSTREAM$" "$(ns_resolv_conf a)" || fail "the user's nameserver is gone"
grep -q "^search net1.ray example.test$" "$(ns_resolv_conf a)" ||
	fail "search domains: $(grep search "$(ns_resolv_conf a)")"
json_get a '.dns.mode == "resolv.conf" and .dns.system_configured' status >/dev/null ||
	fail "status: $(ray_on a status --json | jq -c .dns)"
in_ns a getent hosts b.net1.ray | grep -qE "^($b4|$b6) " ||
	fail "getent hosts b.net1.ray: $(in_ns a getent hosts b.net1.ray)"
run in_ns a ping -c 1 -W 2 b.net1.ray >/dev/null
run in_ns a ping -c 1 -W 2 b >/dev/null
log "other names: REFUSED by us, so the system resolver asks the user's server at once"
rcode_is a www.example.test A REFUSED || fail "a non-.ray name is not REFUSED in resolv.conf mode"
q a +tcp www.example.test A | grep -q "status: REFUSED" || fail "a non-.ray name over TCP is not REFUSED"
in_ns a getent ahostsv4 www.example.test | grep -q "^192.0.2.7 " ||
	fail "www.example.test does not resolve through the user's server"
[ "$(json_get c '.dns.system_configured' status)" = "false" ] || fail "c configured its system resolver"
cmp -s "$(ns_resolv_conf c)" <(printf '# the user'"'"'s resolver\nnameserver %s\nsearch example.test\noptions timeout:2\n' "$UPSTREAM") ||
	fail "c's resolv.conf changed with --system-dns off"

log "forwarding (c): other names go to the host's resolver, over TCP when truncated"
[ "$(short c www.example.test A)" = "192.0.2.7" ] || fail "c: www.example.test not forwarded"
[ "$(short c big.example.test TXT | wc -l)" = 12 ] || fail "c: the large TXT answer did not come through"
q c big.example.test TXT +noedns +ignore | grep -q "flags:.* tc" ||
	fail "c: an answer too large for a plain UDP client is not truncated"
rcode_is c nothing.example.test A NXDOMAIN || fail "c: upstream NXDOMAIN not passed on"
log "forwarding over TCP from the client: dig +tcp, and dig's own retry after TC"
[ "$(short c +tcp www.example.test A)" = "192.0.2.7" ] || fail "c: dig +tcp www.example.test"
[ "$(short c +tcp big.example.test TXT | wc -l)" = 12 ] || fail "c: the large TXT answer over TCP"
[ "$(short c big.example.test TXT +noedns | wc -l)" = 12 ] ||
	fail "c: dig's TCP retry after a truncated answer: $(q c big.example.test TXT +noedns)"
q c +tcp nothing.example.test A | grep -q "status: NXDOMAIN" || fail "c: NXDOMAIN over TCP"
# A 1100-byte EDNS option makes the query ~1150 bytes: too long for UDP
# upstream, so it goes to the user's resolver over TCP, from a TCP client
# and from a UDP one.
big_opt=+ednsopt=65001:$(printf '00%.0s' $(seq 1100))
[ "$(short c +tcp "$big_opt" www.example.test A)" = "192.0.2.7" ] ||
	fail "c: a 1150-byte query over TCP: $(q c +tcp "$big_opt" www.example.test A)"
[ "$(short c "$big_opt" www.example.test A)" = "192.0.2.7" ] ||
	fail "c: a 1150-byte query over UDP: $(q c "$big_opt" www.example.test A)"

log "live: a rename and a kick change every member's answers within 5 s"
run ray_on b hostname net1 bee >/dev/null
for n in a b c; do
	wait_for 5 "$n to resolve bee.net1.ray" answers "$n" bee.net1.ray A "$b4"
	wait_for 5 "$n: b.net1.ray gone" rcode_is "$n" b.net1.ray A NXDOMAIN
done
[ "$(short a -x "$b4")" = "bee.net1.ray." ] || fail "reverse name not renamed"
c4=$(json_get c .ipv4 status)
[ "$(short b c.net1.ray A)" = "$c4" ] || fail "b: c.net1.ray before the kick"
run ray_on a kick net1 c >/dev/null
for n in a b; do
	wait_for 5 "$n: c.net1.ray gone" rcode_is "$n" c.net1.ray A NXDOMAIN
done

log "hostile queries: garbage dropped or FORMERR, and still answering"
in_ns a python3 - <<-'EOF'
	import socket, random
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.settimeout(0.05)
	rnd = random.Random(6)
	bad = [b"", b"\x00", b"\x12\x34" + b"\x00" * 9, b"\x12\x34\x01\x00\x00\x01" + b"\x00" * 6,
	       b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3fabc", b"\xff" * 600,
	       b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\x01a" * 200 + b"\x00\x00\x01\x00\x01"]
	bad += [bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 1400))) for _ in range(200)]
	formerr = 0
	for b in bad:
	    s.sendto(b, ("100.100.100.53", 53))
	    try:
	        a = s.recv(4096)
	        if len(a) >= 12 and a[3] & 0xf == 1:
	            formerr += 1
	    except socket.timeout:
	        pass
	print("formerr answers:", formerr)
	assert formerr >= 1
	EOF
[ "$(short a bee.net1.ray A)" = "$b4" ] || fail "a stopped answering after garbage"

log "a flood from one source is cut; another source is still answered"
in_ns a python3 - <<-'EOF'
	import socket, struct, time
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
	q = lambda i: struct.pack(">HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + \
	    b"\x03bee\x04net1\x03ray\x00\x00\x01\x00\x01"
	start = time.time()
	for i in range(6000):
	    s.sendto(q(i), ("100.100.100.53", 53))
	sent_for = time.time() - start
	s.settimeout(0.5)
	got = 0
	try:
	    while True:
	        s.recv(4096)
	        got += 1
	except socket.timeout:
	    pass
	print("sent 6000 in %.2f s, answered %d" % (sent_for, got))
	assert 0 < got < 6000 * 0.5, got
	EOF
json_get a '.dns.rate_limited > 0' status >/dev/null || fail "no query counted as rate-limited"
[ "$(in_ns a dig +time=2 +tries=1 @fd72:6179::53 bee.net1.ray A +short)" = "$b4" ] ||
	fail "another source (IPv6) is not answered during the flood's aftermath"
sleep 1
[ "$(short a bee.net1.ray A)" = "$b4" ] || fail "the flooding source is not answered a second later"

log "ray down restores resolv.conf byte for byte; ray up configures it again"
run ray_on a down >/dev/null
cmp "$T_DIR/a-resolv.orig" "$(ns_resolv_conf a)" || fail "resolv.conf differs after ray down"
run ray_on a up >/dev/null
grep -q "^nameserver 100.100.100.53$" "$(ns_resolv_conf a)" || fail "ray up did not configure it again"

log "a DHCP client rewrites resolv.conf while up: we come first again, its server is the new upstream"
printf '# from dhcp\nnameserver 198.18.0.99\nnameserver %s\n' "$UPSTREAM" >"$T_DIR/a-resolv.dhcp"
cat "$T_DIR/a-resolv.dhcp" >"$(ns_resolv_conf a)" # in place: the file is a bind mount in a's namespace
wait_for 5 "our nameserver back in a's resolv.conf" \
	grep -q "^nameserver 100.100.100.53$" "$(ns_resolv_conf a)"
grep -q "^nameserver 198.18.0.99$" "$(ns_resolv_conf a)" || fail "the DHCP server is gone"
json_get a '.dns.system_reasserted == 1 and .dns.upstreams[0] == "198.18.0.99"' status >/dev/null ||
	fail "status after the rewrite: $(ray_on a status --json | jq -c .dns)"
in_ns a getent hosts bee.net1.ray >/dev/null || fail "names do not resolve after the rewrite"
run ray_on a down >/dev/null
cmp "$T_DIR/a-resolv.dhcp" "$(ns_resolv_conf a)" || fail "ray down did not leave the DHCP client's file"
cp "$T_DIR/a-resolv.orig" "$(ns_resolv_conf a)"
run ray_on a up >/dev/null
wait_for 5 "a configured again" json_get a '.dns.upstreams[0] == "'"$UPSTREAM"'"' status
sleep 0.5
json_get a '.dns.system_reasserted == 1' status >/dev/null ||
	fail "our own writes counted as rewrites: $(ray_on a status --json | jq -c .dns)"

log "a SIGKILLed daemon: the next start repairs, then configures again"
kill -KILL "${DAEMON_PID[a]}"
wait_gone "${DAEMON_PID[a]}" 10
grep -q "^nameserver 100.100.100.53$" "$(ns_resolv_conf a)" || fail "expected our resolv.conf after the crash"
daemon_start a
wait_for 10 "a configured again" json_get a '.dns.system_configured' status
[ "$(json_get a '.dns.upstreams[0]' status)" = "$UPSTREAM" ] ||
	fail "upstreams after the restart: $(ray_on a status --json | jq -c .dns.upstreams)"
in_ns a getent hosts bee.net1.ray >/dev/null || fail "names do not resolve after the restart"
run ray_on a shutdown >/dev/null
wait_gone "${DAEMON_PID[a]}" 15
[ "$WAIT_RC" -eq 0 ] || fail "daemon a exited with status $WAIT_RC"
cmp "$T_DIR/a-resolv.orig" "$(ns_resolv_conf a)" || fail "resolv.conf differs after ray shutdown"

for n in b c; do
	daemon_stop "$n"
done
log "PASS magic_dns"
