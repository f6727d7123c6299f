#!/bin/bash
# The relay's record store over HTTP, with curl as the client and records
# made by tests/helpers/record_make:
#
#   PUT /records/ID  204 stored; 409 not newer (the same record again, an
#                    older one); 403 tampered signature; 413 too big;
#                    400 under another node's ID, garbage, chunked;
#                    410 expired
#   GET /records/ID  200 with exactly the bytes put; 404 for an unknown ID;
#                    400 for a malformed ID; 404 for an unknown path
#
# The relay exits 0 at SIGTERM (so, under ASan, without leaks).
#
#   sudo RAY=$PWD/build/ray bash tests/integration/relay_records.sh
. "$(dirname "$0")/lib.sh"

HELPERS=$(dirname "$RAY")/tests
PORT=3340
URL=http://10.77.0.1:$PORT
[ -x "$HELPERS/record_make" ] || fail "no helpers in $HELPERS (run make tests)"
command -v curl >/dev/null || fail "no curl"

netns_add relay
netns_add client
veth_pair relay client 10.77.0.1/24 10.77.0.2/24
mkdir -p "$T_DIR/relay" "$T_DIR/keys"
ip netns exec "$T_ID-relay" "$RAY" relay --listen "0.0.0.0:$PORT" --stun-port 0 \
	--state-dir "$T_DIR/relay/state" >>"$T_DIR/relay.log" 2>&1 &
RELAY_PID=$!
T_PIDS+=("$RELAY_PID")
wait_for 10 "relay to listen" grep -q "listening on" "$T_DIR/relay.log"

make_record() { "$HELPERS/record_make" "$@" 2>/dev/null; }
# put FILE ID [CURL ARGS...]: prints the HTTP status
put() {
	local file=$1 id=$2
	shift 2
	in_ns client curl -sS -o "$T_DIR/put.body" -w '%{http_code}' --max-time 10 -X PUT \
		-H 'Content-Type: application/octet-stream' --data-binary "@$file" "$@" \
		"$URL/records/$id"
}
# get ID OUT: prints the HTTP status, the body goes to OUT
get() {
	in_ns client curl -sS -o "$2" -w '%{http_code}' --max-time 10 "$URL/records/$1"
}
expect() { # WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1: HTTP $2, expected $3 ($(cat "$T_DIR/put.body" 2>/dev/null))"
	log "ok: $1 -> $2"
}

A=$(make_record --key "$T_DIR/keys/a" --id)
B=$(make_record --key "$T_DIR/keys/b" --id)
C=$(make_record --key "$T_DIR/keys/c" --id)
make_record --key "$T_DIR/keys/a" --age-ms 5000 --relay "$URL" --addr 10.77.0.2:41383 \
	>"$T_DIR/a.old"
make_record --key "$T_DIR/keys/a" --age-ms 1000 --relay "$URL" --addr 10.77.0.2:41383 \
	--addr "[fd00::2]:41383" >"$T_DIR/a.rec"
make_record --key "$T_DIR/keys/b" --age-ms 7200000 --ttl-ms 3600000 >"$T_DIR/b.expired"

expect "PUT a" "$(put "$T_DIR/a.rec" "$A")" 204
expect "GET a" "$(get "$A" "$T_DIR/a.got")" 200
cmp "$T_DIR/a.rec" "$T_DIR/a.got" || fail "fetched bytes differ from the record put"
log "ok: fetched $(stat -c %s "$T_DIR/a.got") bytes, identical"
in_ns client curl -sS -D - -o /dev/null --max-time 10 "$URL/records/$A" | tr -d '\r' |
	grep -qix "Content-Type: application/octet-stream" || fail "no Content-Type on GET"

expect "PUT a again" "$(put "$T_DIR/a.rec" "$A")" 409
expect "PUT older a" "$(put "$T_DIR/a.old" "$A")" 409

# a flipped bit in the signature (the record's last bytes)
cp "$T_DIR/a.old" "$T_DIR/a.tampered"
size=$(stat -c %s "$T_DIR/a.tampered")
printf '\x55' | dd of="$T_DIR/a.tampered" bs=1 seek=$((size - 2)) conv=notrunc status=none
cmp -s "$T_DIR/a.old" "$T_DIR/a.tampered" && fail "tampering changed nothing"
expect "PUT tampered" "$(put "$T_DIR/a.tampered" "$A")" 403

head -c 1001 /dev/urandom >"$T_DIR/big"
expect "PUT 1001 bytes" "$(put "$T_DIR/big" "$A")" 413
head -c 200000 /dev/urandom >"$T_DIR/huge"
expect "PUT 200 kB" "$(put "$T_DIR/huge" "$A")" 413
expect "PUT a's record as b" "$(put "$T_DIR/a.rec" "$B")" 400
head -c 300 /dev/urandom >"$T_DIR/garbage"
expect "PUT garbage" "$(put "$T_DIR/garbage" "$A")" 400
expect "PUT chunked" "$(put "$T_DIR/a.rec" "$A" -H 'Transfer-Encoding: chunked')" 400
expect "PUT expired" "$(put "$T_DIR/b.expired" "$B")" 410

expect "GET unknown" "$(get "$C" "$T_DIR/c.got")" 404
expect "GET b (nothing stored)" "$(get "$B" "$T_DIR/b.got")" 404
expect "GET malformed id" "$(get "not-an-id" "$T_DIR/x.got")" 400
expect "GET unknown path" \
	"$(in_ns client curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$URL/nothing")" 404

# the store still holds exactly a's first record
expect "GET a at the end" "$(get "$A" "$T_DIR/a.got2")" 200
cmp "$T_DIR/a.rec" "$T_DIR/a.got2" || fail "the stored record changed"

kill -TERM "$RELAY_PID"
wait_gone "$RELAY_PID" 15
[ "$WAIT_RC" -eq 0 ] || fail "relay exited with status $WAIT_RC"
grep "relay: stun" "$T_DIR/relay.log" | tail -1
grep -q "records 1 held, +1 stored" "$T_DIR/relay.log" || fail "summary does not show 1 record"
log "PASS relay_records"
