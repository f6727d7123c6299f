#!/bin/bash
# Hostile UDP input: packets of every WireGuard type with wrong lengths,
# garbage, replays, unknown keys. The daemon must not crash or leak (this
# runs against the ASan build: daemon_stop requires a clean exit), must keep
# its session working, and must answer a flood of handshake initiations with
# cookie replies instead of doing Diffie-Hellman for each.
. "$(dirname "$0")/lib.sh"

peer_pair a b 10.44.0
b4=${NODE_IP4[b]}
run in_ns a ping -c 2 -i 0.2 -W 3 "$b4"
wg_b=$(json_get b .wg_public_key id)

cat >"$T_DIR/hostile.py" <<'PY'
import base64, hashlib, os, random, socket, struct, sys, time
target = (sys.argv[1], 41383)
pub = base64.b64decode(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
random.seed(7)

def send(b):
    s.sendto(b, target)

# 1. every type, every length up to 200, garbage content
for t in range(0, 6):
    for n in range(0, 200):
        send(struct.pack("<I", t)[:min(4, n)] + os.urandom(max(0, n - 4)))
# 2. right lengths, random content
for n, t in ((148, 1), (92, 2), (64, 3), (32, 4), (1500, 4)):
    for _ in range(200):
        send(struct.pack("<I", t) + os.urandom(n - 4))
# 3. oversized
for _ in range(20):
    send(b"\x04\x00\x00\x00" + os.urandom(9000))
print("garbage sent")

# 4. a flood of initiations with a valid mac1 (so they pass the first check)
mac1_key = hashlib.blake2s(b"mac1----" + pub).digest()
def initiation():
    body = b"\x01\x00\x00\x00" + os.urandom(112)
    mac1 = hashlib.blake2s(body, key=mac1_key, digest_size=16).digest()
    return body + mac1 + bytes(16)
s.settimeout(0)
def drain_cookie_replies():
    n = 0
    try:
        while True:
            d = s.recv(2000)
            n += len(d) == 64 and d[0] == 3
    except BlockingIOError:
        return n
cookies = 0
start = time.monotonic()
for i in range(3000):
    send(initiation())
    cookies += drain_cookie_replies()
time.sleep(0.3)
cookies += drain_cookie_replies()
print(f"3000 initiations in {time.monotonic() - start:.2f}s; {cookies} cookie replies")
sys.exit(0 if cookies > 0 else 1)
PY
run in_ns a python3 "$T_DIR/hostile.py" 10.44.0.2 "$wg_b" || fail "no cookie replies under a flood"
json_get b '.counters.cookies_sent > 0' status >/dev/null || fail "b counted no cookies"
json_get b '.counters.drop_malformed > 1000' status >/dev/null || fail "b did not count the garbage"

log "the real session still works"
run in_ns a ping -c 2 -i 0.2 -W 3 "$b4"
run ray_on a ping "${NODE_ID[b]}" -c 1
daemon_stop a
daemon_stop b
log "PASS"
