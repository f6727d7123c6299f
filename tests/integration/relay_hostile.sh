#!/bin/bash
# The relay under hostile clients, while a well-behaved pair keeps talking:
#
#   - malformed HTTP (garbage, bare LF, over-long heads, bytes after the
#     upgrade request, chunked, lying lengths) gets a 4xx and a close;
#   - garbage right after the upgrade, and frame headers claiming 64 KiB
#     before authenticating, are refused at once;
#   - a CLIENT_AUTH claiming a connected good client's key, with a signature
#     it cannot make, is refused and the good client stays;
#   - 3000 connections opened and dropped (FIN, RST, mid-request);
#   - 1000 connections held half-open at once, half silent and half with an
#     8 KiB head that never ends: every one is closed by the relay's request
#     timeout (5 s), and memory stays bounded meanwhile.
#
# Throughout, two relay_load pairs exchange frames and must see frames in
# every second; the relay's VmRSS stays under a bound (below), and it exits
# 0 at SIGTERM (so, under ASan, without leaks or UB).
#
#   sudo RAY=$PWD/build/ray bash tests/integration/relay_hostile.sh
. "$(dirname "$0")/lib.sh"

HELPERS=$(dirname "$RAY")/tests
PORT=3340
RELAY=10.79.0.1
LOAD_SECONDS=24
HELD=1000
[ -x "$HELPERS/relay_load" ] || fail "no helpers in $HELPERS (run make tests)"

netns_add relay
netns_add client
veth_pair relay client "$RELAY/24" 10.79.0.2/24
mkdir -p "$T_DIR/relay"
# ASan keeps freed memory in a quarantine (256 MB by default) before reuse,
# which would make RSS measure churn rather than what the relay holds; 16 MB
# keeps use-after-free detection and makes RSS mean something.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=16" \
	ip netns exec "$T_ID-relay" "$RAY" relay --listen "$RELAY:$PORT" --stun-port 3478 \
	--state-dir "$T_DIR/relay/state" >>"$T_DIR/relay.log" 2>&1 &
RELAY_PID=$!
T_PIDS+=("$RELAY_PID")
wait_for 10 "relay to listen" grep -q "listening on" "$T_DIR/relay.log"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$RELAY_PID/status"; }

# the good clients: 4 (two pairs), for the whole test
ip netns exec "$T_ID-client" "$HELPERS/relay_load" "$RELAY:$PORT" 4 "$LOAD_SECONDS" --progress \
	>"$T_DIR/load.log" 2>&1 &
LOAD_PID=$!
T_PIDS+=("$LOAD_PID")
wait_for 30 "good clients to connect" grep -q "^clients connected: 4/4" "$T_DIR/load.log"
CLIENT0=$(sed -n 's/^client0 key: //p' "$T_DIR/load.log")
[ ${#CLIENT0} -eq 64 ] || fail "no client0 key from relay_load"
sleep 1
BASE_RSS=$(rss_kb)
log "relay VmRSS with the good clients connected: $BASE_RSS kB"

# RSS sampler, every 0.2 s, for the rest of the test
(
	while kill -0 "$RELAY_PID" 2>/dev/null; do
		rss_kb >>"$T_DIR/rss" 2>/dev/null || break
		sleep 0.2
	done
) &
T_PIDS+=($!)

cat >"$T_DIR/hostile.py" <<'PY'
import os, random, resource, socket, struct, sys, time

host, port, client0, held_n = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
random.seed(4)
failures = []

def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED:", what, flush=True)

def conn():
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def read_all(s, limit=1 << 20):
    """Everything until the relay closes (or 8 s pass)."""
    buf = b""
    s.settimeout(8)
    try:
        while len(buf) < limit:
            d = s.recv(65536)
            if not d:
                return buf, True
            buf += d
    except (socket.timeout, ConnectionResetError):
        return buf, False
    return buf, False

UPGRADE = (b"GET /relay HTTP/1.1\r\nHost: r\r\nUpgrade: rayfish-relay-1\r\n"
           b"Connection: Upgrade\r\n\r\n")

def http_case(name, data, status):
    s = conn()
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    buf, closed = read_all(s)
    s.close()
    got = buf[:12].decode("latin-1")
    check(got.startswith("HTTP/1.1 %d" % status), "%s: got %r, want %d" % (name, got, status))
    check(closed, "%s: not closed" % name)

# 1. malformed HTTP
t0 = time.monotonic()
http_case("binary garbage", os.urandom(3000) + b"\r\n\r\n", 400)
http_case("bare LF", b"GET /relay HTTP/1.1\nHost: r\n\n\r\n\r\n", 400)
http_case("NUL in header", b"GET /relay HTTP/1.1\r\nHost: r\x00\r\n\r\n", 400)
http_case("no Host", b"GET /relay HTTP/1.1\r\nUpgrade: rayfish-relay-1\r\nConnection: Upgrade\r\n\r\n", 400)
http_case("head over 8 KiB", b"GET /relay HTTP/1.1\r\nX: " + b"a" * 9000, 431)
http_case("request line over 8 KiB", b"GET /" + b"r" * 10000, 431)
http_case("bytes after the upgrade request", UPGRADE + b"\x02\x00\x60" + os.urandom(96), 400)
http_case("wrong upgrade token", UPGRADE.replace(b"rayfish-relay-1", b"websocket"), 426)
http_case("HTTP/1.0", b"GET /relay HTTP/1.0\r\nHost: r\r\n\r\n", 400)
http_case("chunked PUT", b"PUT /records/x HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400)
http_case("two lengths", b"PUT /records/x HTTP/1.1\r\nHost: r\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400)
http_case("huge length", b"PUT /records/" + b"y" * 52 + b" HTTP/1.1\r\nHost: r\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413)
http_case("unknown path", b"GET /etc/passwd HTTP/1.1\r\nHost: r\r\n\r\n", 404)
http_case("unknown method", b"DELETE /records/x HTTP/1.1\r\nHost: r\r\n\r\n", 400)
print("malformed HTTP: %d cases in %.2fs" % (14, time.monotonic() - t0), flush=True)

def upgrade():
    """Connect and upgrade; returns the socket and the challenge payload."""
    s = conn()
    s.sendall(UPGRADE)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise RuntimeError("closed during upgrade")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    check(head.startswith(b"HTTP/1.1 101 "), "upgrade: %r" % head[:20])
    while len(rest) < 3 + 65:
        rest += s.recv(4096)
    check(rest[0] == 1 and rest[1:3] == b"\x00\x41", "no SERVER_CHALLENGE")
    return s, rest[3:3 + 65]

def expect_error_close(s, what):
    t = time.monotonic()
    buf, closed = read_all(s)
    check(closed, "%s: not closed" % what)
    check(len(buf) >= 3 and buf[0] == 4, "%s: no SERVER_ERROR (%r)" % (what, buf[:20]))
    check(time.monotonic() - t < 3, "%s: took %.1fs" % (what, time.monotonic() - t))
    s.close()
    return buf[3:].decode("utf-8", "replace")

# 2. garbage after the upgrade, and frames claiming 64 KiB before auth
for i in range(20):
    s, _ = upgrade()
    s.sendall(os.urandom(random.randint(1, 2000)))
    expect_error_close(s, "garbage after upgrade %d" % i)
for t in (2, 5, 0x7f):
    s, _ = upgrade()
    s.sendall(bytes([t, 0xff, 0xff]) + os.urandom(100))  # then stalls
    why = expect_error_close(s, "64 KiB frame type %d before auth" % t)
print("garbage after upgrade: refused (last reason: %s)" % why, flush=True)

# 3. forged CLIENT_AUTH: a connected good client's key, a signature we cannot make
for i in range(10):
    s, ch = upgrade()
    s.sendall(b"\x02\x00\x60" + client0 + os.urandom(64))
    why = expect_error_close(s, "forged auth %d" % i)
    check("authentication failed" in why, "forged auth: reason %r" % why)
# the right key but the signature over another challenge (a replay)
s1, ch1 = upgrade()
s2, ch2 = upgrade()
check(ch1[33:] != ch2[33:], "two challenges with the same nonce")
s1.close()
s2.sendall(b"\x02\x00\x60" + client0 + bytes(64))
expect_error_close(s2, "zero signature")
print("forged auth: refused", flush=True)

# 4. 3000 connections opened and dropped
t0 = time.monotonic()
for i in range(3000):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((host, port))
    k = i % 4
    if k == 1:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
    elif k == 2:
        s.sendall(b"GET /relay HTTP/1.1\r\nHo")  # mid-request
    elif k == 3:
        s.sendall(UPGRADE)  # and gone before the challenge is read
    s.close()
print("3000 connections opened and dropped in %.2fs" % (time.monotonic() - t0), flush=True)

# 5. half-open connections held at once: silent, or an endless 8 KiB head
held = []
t0 = time.monotonic()
for i in range(held_n):
    s = conn()
    if i % 2:
        s.sendall(b"GET /relay HTTP/1.1\r\nX-Pad: " + b"p" * 8100)
    held.append(s)
print("holding %d half-open connections (%.2fs to open)" % (held_n, time.monotonic() - t0), flush=True)
open("held", "w").write("1")
closed = 0
deadline = t0 + 5 + 1 + 4  # request timeout, sweep period, slack
for s in held:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        buf = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        if buf.startswith(b"HTTP/1.1 408 "):
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
print("half-open: %d/%d closed by the relay with a 408 in %.1fs" % (closed, held_n, time.monotonic() - t0), flush=True)
check(closed == held_n, "only %d of %d half-open connections closed" % (closed, held_n))

if failures:
    print("%d failures" % len(failures))
    sys.exit(1)
print("hostile: all refused")
PY

log "hostile clients start"
rc=0
(cd "$T_DIR" && timeout 120 ip netns exec "$T_ID-client" python3 "$T_DIR/hostile.py" \
	"$RELAY" "$PORT" "$CLIENT0" "$HELD") || rc=$?
[ $rc -eq 0 ] || fail "hostile.py failed (status $rc)"
kill -0 "$RELAY_PID" || fail "the relay died"

# the good clients: every second had frames, nothing failed
wait_gone "$LOAD_PID" $((LOAD_SECONDS + 30))
cat "$T_DIR/load.log" | grep -v "^second"
[ "$WAIT_RC" -eq 0 ] || fail "relay_load (the good clients) exited with status $WAIT_RC"
seconds=$(grep -c "^second" "$T_DIR/load.log")
min=$(sed -n 's/^second [0-9]*: frames //p' "$T_DIR/load.log" | sort -n | head -1)
log "good clients: $seconds seconds of traffic, at least $min frames in each"
[ "$seconds" -ge $((LOAD_SECONDS - 1)) ] || fail "only $seconds seconds of traffic reported"
[ "${min:-0}" -gt 0 ] || fail "a second went by without frames between the good clients"

# Memory. Per connection the relay holds a struct (~0.4 kB) and, while a
# request head is incomplete, one 8 KiB buffer; nothing bigger before
# authentication (pre-auth frames are capped at CLIENT_AUTH's 96 bytes).
# So HELD half-open connections cost at most HELD * 8.6 kB, about 8.4 MB for
# 1000; ASan's redzones and size classes at most double that, its quarantine
# adds 16 MB (set above), and 16 MB is slack for allocator caches and the
# kernel's socket bookkeeping charged to us. Anything above means memory
# per connection is not bounded as designed.
max_rss=$(sort -n "$T_DIR/rss" | tail -1)
bound=$((BASE_RSS + HELD * 86 / 10 * 2 + 16384 + 16384))
log "relay VmRSS: base $BASE_RSS kB, max $max_rss kB over $(wc -l <"$T_DIR/rss") samples, bound $bound kB"
[ "$max_rss" -lt "$bound" ] || fail "relay VmRSS $max_rss kB over the bound $bound kB"

kill -TERM "$RELAY_PID"
wait_gone "$RELAY_PID" 15
[ "$WAIT_RC" -eq 0 ] || fail "relay exited with status $WAIT_RC"
grep "relay: .* accepted" "$T_DIR/relay.log" | tail -1
log "PASS relay_hostile"
