#!/bin/bash
# Networks (issue 5), IPv4 collisions: b and c have identities whose
# addresses derive to the same IPv4 at collision index 0 (100.79.170.131).
# A invites both into one network; the roster gives the second to join
# index 1. Every member's `ray status` shows two different addresses for
# them, the node with index 1 carries its roster address on ray0 (and not
# the colliding one), ray id/status report what is on the TUN, a reaches
# both and they reach each other by those addresses, Magic DNS answers them,
# the address survives ray down/up and a restart; a second network where
# the node has index 0 makes its rosters disagree (one address wins, one
# warning); after leaving the networks the node is back on its index-0
# address.
#
#   relay 198.18.0.1 ── inet bridge ── a 198.18.0.2, b .3, c .4
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

COLLIDING=100.79.170.131
declare -A SEED=(
	[b]=QCX0r4sP5Nhky/RfwKRG9uicAGcTLd9IB9AAIxiDnUM=
	[c]=7PJ4Nrq0mQ3BW10agMuO89ZG9kYL6wzo9ZUNPxGy5x0=
)

nat_inet
nat_relay
for n in a b c; do
	netns_add "$n"
done
nat_attach a 198.18.0.2
nat_attach b 198.18.0.3
nat_attach c 198.18.0.4
# The identity file (src/crypto/identity.c): the ed25519 seed as one line of
# base64, mode 0600, STATE_DIR/identity.key; a daemon finding one uses it.
for n in b c; do
	mkdir -p "$(node_state "$n")"
	chmod 700 "$(node_state "$n")"
	(umask 077 && printf '%s\n' "${SEED[$n]}" >"$(node_state "$n")/identity.key")
done
for n in a b c; do
	nat_node "$n"
done
for n in b c; do
	[ "${NODE_IP4[$n]}" = "$COLLIDING" ] ||
		fail "$n's identity derives ${NODE_IP4[$n]}, not $COLLIDING: wrong seed file?"
done
[ "${NODE_ID[b]}" != "${NODE_ID[c]}" ] || fail "b and c have the same id"

log "a creates a network; b, then c, join"
run ray_on a create --name net1 --hostname alpha >/dev/null
code_b=$(json_get a .code invite net1)
code_c=$(json_get a .code invite net1)
run ray_on b join "$code_b" --hostname beta
run ray_on c join "$code_c" --hostname gamma

has_members() { [ "$(json_get "$1" '.networks[0].members | length' status)" = "$2" ]; }
for n in a b c; do
	wait_for 10 "$n to see three members" has_members "$n" 3
done
# ip_on NODE HOST: HOST's IPv4 in NODE's roster of net1
ip_on() { json_get "$1" ".networks[0].members[] | select(.hostname == \"$2\") | .ipv4" status; }
a4=$(ip_on a alpha)
b4=$(ip_on a beta)
c4=$(ip_on a gamma)
log "alpha $a4, beta $b4, gamma $c4"

log "every member's roster gives b and c different addresses, the same ones"
[ "$b4" != "$c4" ] || fail "b and c share $b4 in a's roster"
for n in a b c; do
	[ "$(ip_on "$n" beta)" = "$b4" ] && [ "$(ip_on "$n" gamma)" = "$c4" ] ||
		fail "$n's roster: beta $(ip_on "$n" beta), gamma $(ip_on "$n" gamma)"
done
# b joined first: it keeps index 0, c gets index 1
[ "$b4" = "$COLLIDING" ] || fail "b (first to join) has $b4, not $COLLIDING"
case $c4 in 100.*) ;; *) fail "c's roster address $c4 is not a mesh address" ;; esac

# tun_has NODE ADDR: ADDR/32 is on NODE's ray0
tun_has() { ip -n "$T_ID-$1" -4 addr show dev ray0 | grep -q "inet $2/32 "; }
# reports NODE ADDR: ray id, ray status and the network summary say ADDR
reports() {
	[ "$(json_get "$1" .ipv4 id)" = "$2" ] &&
		[ "$(json_get "$1" .ipv4 status)" = "$2" ] &&
		[ "$(json_get "$1" '.networks[0].ipv4' status)" = "$2" ]
}
# only_address NODE ADDR: ADDR and no other IPv4 on NODE's ray0
only_address() {
	tun_has "$1" "$2" && [ "$(ip -n "$T_ID-$1" -4 -o addr show dev ray0 | wc -l)" = 1 ]
}

log "c, index 1, has $c4 on its TUN and not $COLLIDING; b has $COLLIDING"
wait_for 10 "c to put $c4 on ray0" only_address c "$c4"
run ip -n "$T_ID-c" addr show dev ray0
only_address b "$b4" || fail "b's ray0: $(ip -n "$T_ID-b" -4 -o addr show dev ray0)"
for n in a b c; do
	want=$(ip_on "$n" "$(json_get "$n" '.networks[0].members[] | select(.self) | .hostname' status)")
	reports "$n" "$want" || fail "$n reports $(json_get "$n" .ipv4 id) / \
$(json_get "$n" .ipv4 status) / $(json_get "$n" '.networks[0].ipv4' status), its roster $want"
done

log "pings by roster address: a to b and c, b and c to each other and to a"
for pair in "a $b4" "a $c4" "b $c4" "c $b4" "b $a4" "c $a4"; do
	set -- $pair
	wait_for 10 "$1 to ping $2" in_ns "$1" ping -c 1 -W 1 "$2"
done
# c's pings leave from $c4: b accepts only that source from c
b_drops=$(json_get b .counters.drop_bad_source status)
[ "$b_drops" = 0 ] || fail "b dropped $b_drops packets for a bad source"

log "Magic DNS answers the roster addresses"
# answers NODE NAME EXPECTED: for wait_for
answers() {
	[ "$(in_ns "$1" dig +time=2 +tries=1 +short @100.100.100.53 "$2" A)" = "$3" ]
}
for n in a b c; do
	wait_for 10 "$n: gamma.net1.ray to be $c4" answers "$n" gamma.net1.ray "$c4"
	wait_for 10 "$n: beta.net1.ray to be $b4" answers "$n" beta.net1.ray "$b4"
done

log "ray down and up on c: the roster address comes back"
run ray_on c down >/dev/null
wait_for 10 "c's ray0 to lose its addresses" \
	bash -c "! ip -n '$T_ID-c' -4 -o addr show dev ray0 | grep -q inet"
reports c "$c4" || fail "c, down, reports $(json_get c .ipv4 status)"
run ray_on c up >/dev/null
wait_for 10 "c to have $c4 again" only_address c "$c4"
wait_for 10 "b to ping c after up" in_ns b ping -c 1 -W 1 "$c4"

log "restart c: the address is on ray0 from the start"
daemon_stop c
daemon_start c --relay "$RELAY_URL"
only_address c "$c4" || fail "after the restart c's ray0: $(ip -n "$T_ID-c" -4 -o addr show dev ray0)"
reports c "$c4" || fail "after the restart c reports $(json_get c .ipv4 status)"
# c speaks first: its peers still hold keys to the old daemon and would
# only give up on them after 15 s without an answer (as WireGuard does)
wait_for 20 "c to ping b after the restart" in_ns c ping -c 1 -W 1 "$b4"
wait_for 20 "c to ping a after the restart" in_ns c ping -c 1 -W 1 "$a4"
wait_for 20 "a to ping c after the restart" in_ns a ping -c 1 -W 1 "$c4"

log "c creates a network of its own, where it has index 0: its rosters disagree"
run ray_on c create --name solo >/dev/null
solo4=$(json_get c '.networks[] | select(.name == "solo") | .members[] | select(.self) | .ipv4' status)
[ "$solo4" = "$COLLIDING" ] || fail "c alone in solo has $solo4, not $COLLIDING"
wait_for 10 "c to warn of the disagreement" grep -q "different IPv4 addresses" "$T_DIR/c.log"
# the first network by room id decides; either way one address, reported
got=$(json_get c .ipv4 status)
[ "$got" = "$c4" ] || [ "$got" = "$COLLIDING" ] || fail "c chose $got"
only_address c "$got" || fail "c's ray0: $(ip -n "$T_ID-c" -4 -o addr show dev ray0)"
[ "$(json_get c '[.networks[].ipv4] | unique | length' status)" = 1 ] ||
	fail "c's networks report different addresses: $(json_get c '[.networks[].ipv4]' status)"
log "c uses $got (net1 gives $c4, solo $solo4)"
run ray_on c nuke solo >/dev/null
wait_for 10 "c to be back on $c4" only_address c "$c4"
[ "$(grep -c "different IPv4 addresses" "$T_DIR/c.log")" = 1 ] || fail "c warned more than once"
wait_for 10 "b to ping c once solo is gone" in_ns b ping -c 1 -W 1 "$c4"

log "c leaves: in no network, it is back on $COLLIDING"
run ray_on c leave net1 >/dev/null
wait_for 10 "c to put $COLLIDING back on ray0" only_address c "$COLLIDING"
[ "$(json_get c .ipv4 id)" = "$COLLIDING" ] || fail "c, in no network, reports $(json_get c .ipv4 id)"
grep -q "mesh IPv4 $COLLIDING (was $c4)" "$T_DIR/c.log" || fail "c did not log the change back"
wait_for 10 "a to ping b still" in_ns a ping -c 1 -W 1 "$b4"

for n in a b c; do
	daemon_stop "$n"
done
log "PASS networks_collision"
