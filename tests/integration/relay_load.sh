#!/bin/bash
# The relay server under load: 5,000 authenticated clients in one namespace,
# paired up, exchanging 100-byte frames for ~5 s. Asserts every client
# connected, frames flowed, nothing failed, and the relay exits 0 on SIGTERM.
#
#   sudo RAY=$PWD/build/ray bash tests/integration/relay_load.sh
#   RELAY_CLIENTS=500 RELAY_SECONDS=2 ... for a quick run
. "$(dirname "$0")/lib.sh"

HELPERS=$(dirname "$RAY")/tests
CLIENTS=${RELAY_CLIENTS:-5000}
SECONDS_LOAD=${RELAY_SECONDS:-5}
PORT=3340
[ -x "$HELPERS/relay_load" ] ||
	fail "no relay helpers in $HELPERS (run make tests)"

netns_add relay
mkdir -p "$T_DIR/relay"
# A simple command, not a function, so that $! is the server itself.
ip netns exec "$T_ID-relay" "$RAY" relay --listen "127.0.0.1:$PORT" --stun-port 0 \
	--state-dir "$T_DIR/relay/state" >>"$T_DIR/relay.log" 2>&1 &
RELAY_PID=$!
T_PIDS+=("$RELAY_PID")
wait_for 10 "relay to listen" grep -q "listening on" "$T_DIR/relay.log"
grep -q "open-file limit" "$T_DIR/relay.log" || fail "no open-file limit log line"
[ "$(stat -c %a "$T_DIR/relay/state/relay.key")" = 600 ] || fail "relay.key is not 0600"

log "relay_load: $CLIENTS clients, $SECONDS_LOAD s"
rc=0
timeout 50 ip netns exec "$T_ID-relay" "$HELPERS/relay_load" "127.0.0.1:$PORT" "$CLIENTS" \
	"$SECONDS_LOAD" >"$T_DIR/load.out" 2>&1 || rc=$?
cat "$T_DIR/load.out"
[ $rc -eq 0 ] || fail "relay_load exited with status $rc"
grep -q "^clients connected: $CLIENTS/$CLIENTS " "$T_DIR/load.out" || fail "not all clients connected"
frames=$(sed -n 's/^frames forwarded: \([0-9]*\) .*/\1/p' "$T_DIR/load.out")
[ "${frames:-0}" -gt 0 ] || fail "no frames forwarded"
grep -q "^failures: 0 " "$T_DIR/load.out" || fail "relay_load saw failures"

kill -TERM "$RELAY_PID"
wait_gone "$RELAY_PID" 15
[ "$WAIT_RC" -eq 0 ] || fail "relay exited with status $WAIT_RC"
grep "relay: .* accepted" "$T_DIR/relay.log" | tail -1
log "PASS relay_load"
