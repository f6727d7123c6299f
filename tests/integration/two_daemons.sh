#!/bin/bash
# Two daemons side by side, each in its own namespace with its own state dir
# and socket, do not disturb each other.
. "$(dirname "$0")/lib.sh"

netns_add a
netns_add b
daemon_start a
daemon_start b

id_a=$(json_get a .id id)
id_b=$(json_get b .id id)
[ "$id_a" != "$id_b" ] || fail "both nodes have the same id"
[ "$(json_get a .ipv6 id)" != "$(json_get b .ipv6 id)" ] || fail "same ipv6"

log "stopping one leaves the other serving"
run ray_on a down
json_get b '.state == "up"' status >/dev/null || fail "b changed with a"
daemon_stop a
json_get b .id id >/dev/null || fail "b stopped answering when a stopped"
[ "$(json_get b .id id)" = "$id_b" ] || fail "b's id changed"
daemon_stop b
log "PASS"
