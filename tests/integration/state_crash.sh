#!/bin/bash
# Every state write is atomic: SIGKILL the daemon in the middle of a stream
# of writes, many times over, and the state dir still loads with a valid
# settings file, the same identity, and no temporary files left behind.
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-25}
netns_add a
daemon_start a
id=$(json_get a .id id)
state=$(node_state a)
run ray_on a set-operator 1000

writer() { # flip the persisted settings as fast as the daemon takes them
	local i=0
	set +e
	while :; do
		ray_on a down >/dev/null 2>&1
		ray_on a up >/dev/null 2>&1
		ray_on a set-operator $((1000 + i % 50)) >/dev/null 2>&1
		i=$((i + 1))
	done
}

for round in $(seq "$ROUNDS"); do
	writer &
	wpid=$!
	sleep "0.$((RANDOM % 4 + 1))$((RANDOM % 10))"
	kill -KILL "${DAEMON_PID[a]}"
	wait_gone "${DAEMON_PID[a]}" 5
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true

	jq -e 'has("up") and has("operator_uid")' "$state/settings.json" >/dev/null ||
		fail "round $round: settings.json is not valid: $(head -c 200 "$state/settings.json")"
	daemon_start a
	[ "$(json_get a .id id)" = "$id" ] || fail "round $round: identity changed"
	if ls "$state" | grep -q 'tmp-ray'; then fail "round $round: temporary files left"; fi
	json_get a '.operator_uid >= 1000' status >/dev/null ||
		fail "round $round: operator lost"
done
log "$ROUNDS kills during writes; state loaded every time"
daemon_stop a
log "PASS"
