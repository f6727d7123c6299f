#!/bin/bash
# Hostile local clients (random bytes, huge or zero length prefixes, half a
# frame, bad JSON, a crowd of idle connections) get an error or a closed
# connection; the daemon keeps serving everyone else, and exits cleanly (no
# leaks under ASan) afterwards.
. "$(dirname "$0")/lib.sh"

netns_add a
daemon_start a
sock=$(node_socket a)

# Each case prints what the daemon answered (or "closed").
cat >"$T_DIR/hostile.py" <<'PY'
import json, os, random, socket, struct, sys, time
path = sys.argv[1]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)  # blocking: a full backlog waits rather than failing
    s.settimeout(8)
    return s

def answer(s):
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    if len(data) < 4:
        return "closed"
    n = struct.unpack(">I", data[:4])[0]
    obj = json.loads(data[4:4 + n])
    return "error: " + obj["error"] if not obj["ok"] else "ok"

def frame(body):
    return struct.pack(">I", len(body)) + body

def status_works():
    s = conn()
    s.sendall(frame(b'{"cmd":"status"}'))
    return answer(s) == "ok"

cases = {
    "random bytes": lambda: os.urandom(3000),
    "huge length": lambda: struct.pack(">I", 0xFFFFFFFF) + b"{}",
    "zero length": lambda: struct.pack(">I", 0),
    "not json": lambda: frame(b"\x00\xff garbage {"),
    "json array": lambda: frame(b"[1,2,3]"),
    "no cmd": lambda: frame(b'{"args":{}}'),
    "cmd not a string": lambda: frame(b'{"cmd":42}'),
    "args not an object": lambda: frame(b'{"cmd":"status","args":"x"}'),
    "unknown cmd": lambda: frame(b'{"cmd":"rm -rf /"}'),
    "duplicate keys": lambda: frame(b'{"cmd":"status","cmd":"shutdown"}'),
    "deep nesting": lambda: frame(b'{"cmd":"status","args":' + b'[' * 5000 + b']' * 5000 + b'}'),
    "invalid utf-8": lambda: frame(b'{"cmd":"\xc3\x28"}'),
    "set-operator junk": lambda: frame(b'{"cmd":"set-operator","args":{"uid":"root"}}'),
    "set-operator huge": lambda: frame(b'{"cmd":"set-operator","args":{"uid":99999999999999}}'),
}
random.seed(1)
for name, make in cases.items():
    s = conn()
    try:
        s.sendall(make())
    except BrokenPipeError:
        pass
    print(f"{name}: {answer(s)}")
    assert status_works(), f"daemon stopped serving after: {name}"

# Half a frame, left hanging: others must not wait for it.
hang = conn()
hang.sendall(struct.pack(">I", 100) + b'{"cmd":')
t = time.monotonic()
assert status_works(), "status failed while a half frame hangs"
assert time.monotonic() - t < 1.0, "a hanging client delayed another"
print("half frame: others served at once")

# The hanging client is dropped after the daemon's timeout.
hang.settimeout(10)
t = time.monotonic()
assert hang.recv(1) == b"", "half frame was answered"
waited = time.monotonic() - t
assert waited < 7, "half frame held longer than the daemon's timeout"
print(f"half frame: dropped after {waited:.1f}s")

# A crowd of idle connections, more than the daemon keeps.
crowd = [conn() for _ in range(300)]
t = time.monotonic()
assert status_works(), "status failed behind a crowd of idle clients"
print(f"crowd of 300 idle clients: status answered in {time.monotonic() - t:.3f}s")
for c in crowd:
    c.close()

# Random fuzz of short-lived clients.
for i in range(300):
    s = conn()
    try:
        s.sendall(os.urandom(random.randint(1, 200)))
    except BrokenPipeError:
        pass
    s.close()
assert status_works(), "daemon stopped serving after random clients"
print("300 random clients: still serving")
PY

run in_ns a python3 "$T_DIR/hostile.py" "$sock" | tee "$T_DIR/hostile.out"
grep -q "^huge length: error: bad request: length" "$T_DIR/hostile.out" || fail "huge length not refused clearly"
grep -q "^not json: error: bad request: malformed JSON" "$T_DIR/hostile.out" || fail "bad JSON not refused clearly"
grep -q "^unknown cmd: error: unknown command" "$T_DIR/hostile.out" || fail "unknown command not refused clearly"
grep -q "^duplicate keys: error" "$T_DIR/hostile.out" || fail "duplicate keys accepted"
json_get a '.state == "up"' status >/dev/null || fail "state changed by hostile input"
daemon_stop a
log "PASS"
