#!/bin/bash
# The daemon starts, keeps its identity, refuses to run twice or with a bad
# key, and stops cleanly on SIGTERM, SIGINT and `ray shutdown`.
. "$(dirname "$0")/lib.sh"

netns_add a
daemon_start a
state=$(node_state a)
sock=$(node_socket a)

log "identity and state files are private"
[ "$(stat -c %a "$state/identity.key")" = 600 ] || fail "identity.key is not 0600"
[ "$(stat -c %a "$state")" = 700 ] || fail "state dir is not 0700"
[ "$(stat -c %a "$sock")" = 666 ] || fail "socket is not 0666"
ls "$state"/logs/ray-*.log >/dev/null || fail "no daily log file"

id1=$(json_get a .id id)
[ ${#id1} -eq 52 ] || fail "node id '$id1' is not 52 characters"
json_get a '.state == "up"' status >/dev/null || fail "fresh daemon is not up"
json_get a '.networks == []' status >/dev/null || fail "fresh daemon has networks"
json_get a '.wg_public_key | test("^[A-Za-z0-9+/]{43}=$")' id >/dev/null || fail "bad wg key"
json_get a '.ipv4 | startswith("100.")' id >/dev/null || fail "ipv4 not in 100.64/10"
json_get a '.ipv6 | startswith("fd72:6179:")' id >/dev/null || fail "ipv6 not in fd72:6179::/32"

log "a second daemon on the same socket is refused"
mkdir -p "$T_DIR/other"
if in_ns a "$RAY" --socket "$sock" daemon --state-dir "$T_DIR/other/state" >"$T_DIR/second.log" 2>&1; then
	fail "second daemon started on a served socket"
fi
grep -q "already serving" "$T_DIR/second.log" || fail "no clear error: $(cat "$T_DIR/second.log")"

log "a second daemon on the same state dir is refused"
if in_ns a "$RAY" --socket "$T_DIR/other.sock" daemon --state-dir "$state" >"$T_DIR/third.log" 2>&1; then
	fail "second daemon started on a used state dir"
fi
grep -q "another daemon is using it" "$T_DIR/third.log" || fail "no clear error: $(cat "$T_DIR/third.log")"
ray_on a status >/dev/null || fail "first daemon harmed by the attempts"

log "a second daemon in the same namespace on another socket and state dir: the TUN name is taken"
if in_ns a "$RAY" --socket "$T_DIR/other2.sock" daemon --state-dir "$T_DIR/other2" >"$T_DIR/fourth.log" 2>&1; then
	fail "second daemon started on a taken TUN device"
fi
grep -q "pick a name with --tun" "$T_DIR/fourth.log" || fail "no clear error: $(cat "$T_DIR/fourth.log")"
[ ! -e "$T_DIR/other2.sock" ] || fail "refused daemon left its socket behind"

log "with --mtu below 1280: IPv4 works, IPv6 is skipped with a warning"
ip netns exec "$T_ID-a" "$RAY" --socket "$T_DIR/small.sock" daemon --state-dir "$T_DIR/small" \
	--tun raysmall --port 0 --mtu 1000 >"$T_DIR/small.log" 2>&1 &
small=$!
T_PIDS+=($small)
wait_for 10 "the small-MTU daemon" in_ns a "$RAY" --socket "$T_DIR/small.sock" status
grep -q "below 1280" "$T_DIR/small.log" || fail "no warning for MTU 1000"
in_ns a ip addr show raysmall | grep -q "inet 100\." || fail "no IPv4 address with MTU 1000"
in_ns a ip -br link show raysmall | grep -q "1000" || in_ns a ip link show raysmall | grep -q "mtu 1000" ||
	fail "MTU not applied"
kill -TERM $small
wait_gone $small 10
[ "$WAIT_RC" -eq 0 ] || fail "small-MTU daemon exited $WAIT_RC"

log "SIGTERM: clean exit, socket removed, same identity after restart"
daemon_stop a
[ ! -e "$sock" ] || fail "socket left behind after SIGTERM"
daemon_start a
[ "$(json_get a .id id)" = "$id1" ] || fail "identity changed across restart"

log "ray down / up survive a restart"
run ray_on a down
json_get a '.state == "down"' status >/dev/null || fail "not down"
daemon_stop a
daemon_start a
json_get a '.state == "down"' status >/dev/null || fail "down not remembered"
run ray_on a up
json_get a '.state == "up"' status >/dev/null || fail "not up"

log "SIGINT stops it too"
kill -INT "${DAEMON_PID[a]}"
wait_gone "${DAEMON_PID[a]}" 15
[ "$WAIT_RC" -eq 0 ] || fail "exit status $WAIT_RC after SIGINT"

log "ray shutdown stops it"
daemon_start a
run ray_on a shutdown
wait_gone "${DAEMON_PID[a]}" 15
[ "$WAIT_RC" -eq 0 ] || fail "exit status $WAIT_RC after ray shutdown"
[ ! -e "$sock" ] || fail "socket left behind after shutdown"

log "a stale socket from a killed daemon does not block a restart"
daemon_start a
kill -KILL "${DAEMON_PID[a]}"
wait_gone "${DAEMON_PID[a]}" 5
[ -e "$sock" ] || fail "expected a stale socket after SIGKILL"
daemon_start a
[ "$(json_get a .id id)" = "$id1" ] || fail "identity changed after SIGKILL"
daemon_stop a

log "the CLI without a daemon: one line, non-zero"
if ray_on a status >"$T_DIR/nodaemon.out" 2>&1; then fail "status succeeded with no daemon"; fi
[ "$(wc -l <"$T_DIR/nodaemon.out")" -eq 1 ] || fail "error is not one line: $(cat "$T_DIR/nodaemon.out")"
grep -q "cannot reach the daemon" "$T_DIR/nodaemon.out" || fail "unclear error"

bad_key() { # WHAT: daemon must refuse to start with a clear error
	if in_ns a "$RAY" --socket "$sock" daemon --state-dir "$state" >"$T_DIR/bad.log" 2>&1; then
		fail "daemon started with $1"
	fi
	grep -q "identity key" "$T_DIR/bad.log" || fail "no clear error for $1: $(cat "$T_DIR/bad.log")"
	[ ! -e "$sock" ] || fail "socket left behind after refusing $1"
}
cp "$state/identity.key" "$T_DIR/identity.good"

log "a world-readable identity key is refused"
chmod 644 "$state/identity.key"
bad_key "a world-readable key"
grep -q "chmod 600" "$T_DIR/bad.log" || fail "error does not say how to fix it"

log "a truncated identity key is refused"
head -c 20 "$T_DIR/identity.good" >"$state/identity.key"
chmod 600 "$state/identity.key"
bad_key "a truncated key"

log "a garbage identity key is refused"
head -c 45 /dev/urandom >"$state/identity.key"
bad_key "a garbage key"

log "an unreadable (directory) identity key is refused"
rm -f "$state/identity.key"; mkdir "$state/identity.key"; chmod 700 "$state/identity.key"
bad_key "a directory as key"
rmdir "$state/identity.key"

log "the good key loads again"
cp "$T_DIR/identity.good" "$state/identity.key"; chmod 600 "$state/identity.key"
daemon_start a
[ "$(json_get a .id id)" = "$id1" ] || fail "identity changed after restoring the key"
daemon_stop a
log "PASS"
