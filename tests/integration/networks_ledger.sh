#!/bin/bash
# Networks (issue 5): the invite ledger forgets what is long over. A
# coordinator whose ledger holds 4096 invites (its limit) revoked two months
# ago, as years of `ray invite` would leave it, still mints invites, and its
# saved ledger then keeps only the recent ones. One whose 4096 invites were
# revoked yesterday refuses with a clear error and loses nothing. The ledgers
# are written into the stopped daemon's state file.
#
#   relay 198.18.0.1 ── inet bridge ── a 198.18.0.2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

nat_inet
nat_relay
netns_add a
nat_attach a 198.18.0.2
nat_node a
run ray_on a create --name net1 --hostname alpha >/dev/null
run ray_on a invite net1 >/dev/null
file=$(echo "$(node_state a)"/networks/*.json)
[ -f "$file" ] || fail "no network file in $(node_state a)/networks"

# fill_ledger DAYS: the ledger becomes the invite minted above and 4095
# single-use invites that expired and were revoked DAYS ago.
fill_ledger() {
	local now age tmp=$file.tmp
	now=$(date +%s)
	age=$(($1 * 86400))
	jq --argjson now "$now" --argjson age "$age" '.ledger.invites = .ledger.invites[:1] +
		[range(1; 4096) | {id: (. + 1000000), secret_hash: ("ab" * 32),
		 created: ($now - $age - 7200), expires: ($now - $age - 3600),
		 reusable: false, state: "revoked", hostname: null, used_by: null,
		 closed: ($now - $age), uses: 0}]' "$file" >"$tmp" || fail "jq on $file"
	chmod 600 "$tmp"
	mv "$tmp" "$file"
}
ledger_size() { jq '.ledger.invites | length' "$file"; }

log "a ledger full of invites revoked yesterday: a clear refusal, nothing lost"
daemon_stop a
fill_ledger 1
[ "$(ledger_size)" = 4096 ] || fail "the filled ledger has $(ledger_size) entries"
nat_node a
out=$(ray_on a invite net1 2>&1) && fail "a full ledger minted an invite: $out"
echo "$out" | grep -q "invite ledger of net1 is full: 4096 invites" ||
	fail "unclear error for a full ledger: $out"
[ "$(ledger_size)" = 4096 ] || fail "the refused invite changed the ledger: $(ledger_size)"
[ "$(json_get a '.invites | length' invite net1 --list)" = 4096 ] ||
	fail "the daemon does not list 4096 invites"

log "revoked two months ago: forgotten at the next invite, which works"
daemon_stop a
fill_ledger 60
nat_node a
code=$(json_get a .code invite net1) || fail "no invite from a ledger of old invites"
[ -n "$code" ] || fail "an empty invite code"
[ "$(ledger_size)" = 2 ] || fail "the saved ledger has $(ledger_size) entries, not 2"
[ "$(json_get a '.invites | length' invite net1 --list)" = 2 ] ||
	fail "the daemon lists other than the first and the new invite"
grep -q "4095 invites finished over 30 days ago forgotten" "$T_DIR/a.log" ||
	fail "the pruning was not logged"
daemon_stop a
log "ok"
