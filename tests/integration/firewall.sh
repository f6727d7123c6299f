#!/bin/bash
# The per-device firewall (issue 7), with real clients: by default ping
# works but TCP to a member is refused (silently, or at once with reject on,
# and UDP gets a port unreachable); a rule for one peer opens a port to that
# peer only; return traffic of outbound connections comes back while the
# other side cannot initiate; a coordinator's suggested rule opens a port at
# once on a member that auto-accepts, and only after `accept` on one that
# does not; rules survive a restart.
#
#   relay 198.18.0.1 ── inet bridge ── a 198.18.0.2 (alpha, coordinator),
#                                      b .3 (beta), c .4 (gamma, auto-accept)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

nat_inet
nat_relay
nat_public_nodes 2 a b c

log "a creates net1; b joins; c joins with --auto-accept-firewall"
run ray_on a create --name net1 --hostname alpha >/dev/null
run ray_on b join "$(json_get a .code invite net1)" --hostname beta >/dev/null
run ray_on c join "$(json_get a .code invite net1)" --hostname gamma --auto-accept-firewall \
	>/dev/null
ip_of() { json_get a ".networks[0].members[] | select(.hostname == \"$1\") | .ipv4" status; }
has_members() { [ "$(json_get "$1" '.networks[0].members | length' status)" = 3 ]; }
for n in a b c; do wait_for 10 "$n to see three members" has_members "$n"; done
a4=$(ip_of alpha)
b4=$(ip_of beta)
c4=$(ip_of gamma)

# listen NODE PORT [FILE]: a TCP server that accepts any number of
# connections and writes what it receives to FILE.
listen() {
	bg_in_ns "$1" nc -lk "$2" </dev/null >"${3:-/dev/null}" 2>&1
}
# connects FROM ADDR PORT [SECONDS]: a TCP connection completes.
connects() { in_ns "$1" nc -z -w "${4:-2}" "$2" "$3" 2>/dev/null; }
refused() { ! connects "$@"; }
listen a 8080
listen b 8080 "$T_DIR/b8080.out"
listen c 8080
listen a 9090
listen b 9091
for n in b c; do listen "$n" 7070; done

log "defaults: ping works, TCP is denied both ways"
wait_for 10 "a to ping b" in_ns a ping -c 1 -W 1 "$b4"
in_ns a ping -c 3 -i 0.2 -W 1 "$b4" >/dev/null || fail "ping a -> b lost packets"
refused a "$b4" 8080 || fail "a reached b:8080 through a default-deny firewall"
json_get b '.default == "deny" and .reject == false and .rules[0].proto == "icmp"' \
	firewall show >/dev/null || fail "unexpected defaults: $(ray_on b firewall show --json)"
run ray_on b firewall show

log "reject on: a denied TCP connection fails at once, UDP gets port unreachable"
run ray_on b firewall reject on >/dev/null
start=$(date +%s%N)
refused a "$b4" 8080 10 || fail "a reached b:8080 with reject on"
ms=$((($(date +%s%N) - start) / 1000000))
log "refused in $ms ms"
[ "$ms" -lt 1500 ] || fail "a denied connection took $ms ms to fail (no RST?)"
in_ns a dig +tries=1 +time=5 @"$b4" -p 9999 example.ray >"$T_DIR/dig.out" 2>&1 || true
grep -q "connection refused" "$T_DIR/dig.out" || fail "UDP to a denied port: $(cat "$T_DIR/dig.out")"
json_get b '.counters.rejected >= 2' firewall show >/dev/null || fail "no rejects counted"
run ray_on b firewall reject off >/dev/null

log "b allows tcp 8080 from alpha only"
run ray_on b firewall add in allow --proto tcp --port 8080 --peer alpha
connects a "$b4" 8080 || fail "a cannot reach b:8080 after the allow rule"
refused c "$b4" 8080 || fail "c reached b:8080 (the rule names alpha only)"
echo "through the firewall" | in_ns a nc -N -w 3 "$b4" 8080 || fail "a could not send data to b:8080"

log "outbound connections get their answers; the other side cannot initiate"
run ray_on a firewall add in allow --proto tcp --port 9090 >/dev/null
connects b "$a4" 9090 || fail "b's outbound connection to a:9090 got no answer"
refused a "$b4" 9091 || fail "a initiated a connection to b:9091"

log "a suggests tcp 7070 for every member"
run ray_on a firewall suggest net1 --for '*' allow --proto tcp --port 7070
start=$(date +%s)
wait_for 5 "c (auto-accept) to open 7070" connects a "$c4" 7070 1
log "c opened 7070 after $(($(date +%s) - start)) s"
has_pending() { json_get b '.pending | length == 1' firewall pending net1 >/dev/null; }
wait_for 5 "b to list the suggestion as pending" has_pending
run ray_on b firewall pending net1
refused a "$b4" 7070 || fail "b opened 7070 without accepting"
run ray_on b firewall accept net1
connects a "$b4" 7070 || fail "b did not open 7070 after accept"
run ray_on b firewall show

log "an accepted rule is not queued again when the roster changes"
run ray_on a firewall suggest net1 --for gamma deny --proto udp --port 5000 >/dev/null
wait_for 5 "c to install the second suggestion" \
	json_get c '[.rules[] | select(.origin)] | length == 2' firewall show
sleep 1
json_get b '.pending | length == 0' firewall pending net1 >/dev/null ||
	fail "b re-queued: $(ray_on b firewall pending net1 --json)"

log "rules survive a restart"
ray_on b firewall show --json | jq -S .rules >"$T_DIR/before.json"
daemon_stop b
daemon_start b --relay "$RELAY_URL"
ray_on b firewall show --json | jq -S .rules >"$T_DIR/after.json"
cmp "$T_DIR/before.json" "$T_DIR/after.json" || fail "rules changed across a restart"
wait_for 15 "a to reach b:8080 again" connects a "$b4" 8080
refused c "$b4" 8080 || fail "c reached b:8080 after the restart"
wait_for 5 "a to reach b:7070 again" connects a "$b4" 7070

log "removing the allow rule closes the port, to an open connection too"
bg_in_ns a bash -c "exec 3<>/dev/tcp/$b4/8080; echo before >&3; sleep 2; echo after >&3; sleep 1"
client=$BG_PID
wait_for 5 "the open connection's first line" grep -q before "$T_DIR/b8080.out"
run ray_on b firewall remove 2
wait_gone "$client" 10
sleep 0.5
if grep -q after "$T_DIR/b8080.out"; then fail "data crossed a removed allow rule"; fi
refused a "$b4" 8080 || fail "b:8080 still open after removing its rule"
log "ok"
