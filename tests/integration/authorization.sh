#!/bin/bash
# Reads are open to every local user; changes need root or the operator that
# root named with `ray set-operator`; naming the operator needs root.
. "$(dirname "$0")/lib.sh"

netns_add a
daemon_start a
sock=$(node_socket a)
chmod 755 "$T_DIR/a"

# as_user UID ARGS...: the CLI as an unprivileged user.
as_user() {
	local uid=$1
	shift
	in_ns a setpriv --reuid="$uid" --regid="$uid" --clear-groups "$RAY" --socket "$sock" "$@"
}
nobody=$(id -u nobody)

log "an ordinary user may read"
as_user "$nobody" status --json | jq -e '.state == "up"' >/dev/null || fail "status refused to nobody"
as_user "$nobody" id --json | jq -e '.id | length == 52' >/dev/null || fail "id refused to nobody"

log "an ordinary user may not change anything"
for cmd in down up shutdown; do
	if as_user "$nobody" "$cmd" 2>"$T_DIR/denied.err"; then fail "nobody could run $cmd"; fi
	grep -q "permission denied" "$T_DIR/denied.err" || fail "unclear refusal: $(cat "$T_DIR/denied.err")"
	grep -q "set-operator" "$T_DIR/denied.err" || fail "refusal does not say how to get access"
done
if as_user "$nobody" set-operator nobody 2>"$T_DIR/denied.err"; then fail "nobody made itself operator"; fi
grep -q "only root" "$T_DIR/denied.err" || fail "unclear refusal: $(cat "$T_DIR/denied.err")"
json_get a '.state == "up"' status >/dev/null || fail "a refused request changed the state"

log "root names nobody the operator"
run ray_on a set-operator nobody
json_get a ".operator_uid == $nobody" status >/dev/null || fail "operator not recorded"
run as_user "$nobody" down
json_get a '.state == "down"' status >/dev/null || fail "operator's down had no effect"
run as_user "$nobody" up
if as_user "$nobody" set-operator --clear 2>/dev/null; then fail "the operator may not name operators"; fi

log "another user is still refused"
if as_user 12345 down 2>/dev/null; then fail "uid 12345 could run down"; fi

log "the operator survives a restart"
daemon_stop a
daemon_start a
run as_user "$nobody" down
run as_user "$nobody" up

log "root clears it"
run ray_on a set-operator --clear
if as_user "$nobody" down 2>/dev/null; then fail "cleared operator could still run down"; fi
if ray_on a set-operator no-such-user-here 2>"$T_DIR/nouser.err"; then fail "unknown user accepted"; fi
grep -q "no such user" "$T_DIR/nouser.err" || fail "unclear error for unknown user"
daemon_stop a
log "PASS"
