#!/usr/bin/env bash
# sandbox-demo.sh — drives a running `make run` sandbox through the API with
# curl (JSON, /v1.1): two networks, three ACTIVE ports, tapvm1+tapvm2 plugged
# into net1 and tapvm3 into net2, then checks that vm1 reaches vm2 and not vm3.
# Run it as root, in another shell, as often as you like (before or after the
# README's Quickstart: it first unplugs vif-vm1..3 wherever they are plugged,
# so that it can plug them, and the taps, again):
#   scripts/sandbox-demo.sh /tmp/qsandbox.XXXXXX/sandbox.env
# Exit status 0 when every check passed. It leaves its networks in place.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
	echo "usage: $0 SANDBOX_DIR/sandbox.env (printed by make run)" >&2
	exit 2
fi
# shellcheck source=/dev/null
. "$1"
: "${QUANTUM_SOCKET:?}" "${VM1:?}" "${VM2:?}" "${VM3:?}"

TENANT=${TENANT:-demo}
BASE=http://localhost/v1.1/tenants/$TENANT
FAILS=0

log() { printf '[demo] %s\n' "$*" >&2; }

# api METHOD PATH [JSON]: prints the body; fails unless the status is 2xx.
api() {
	local method=$1 path=$2 body=${3:-} out code
	local args=(-sS --unix-socket "$QUANTUM_SOCKET" -X "$method" -w '\n%{http_code}')
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
	out=$(curl "${args[@]}" "$BASE$path")
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	printf '[demo] %-6s %-60s -> %s %s\n' "$method" "$path" "$code" "$out" >&2
	[[ "$code" == 2* ]] || return 1
	printf '%s' "$out"
}

# first_id: the first "id" of a JSON body, e.g. the new network's in
# {"network":{"id":"..."}}.
first_id() { tr -d '\n' | grep -o '"id" *: *"[^"]*"' | head -n1 | sed 's/.*"\([^"]*\)"$/\1/'; }

# all_ids: every "id" of a JSON body, one a line.
all_ids() { tr -d '\n' | grep -o '"id" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' || true; }

# release ATT: unplugs attachment ATT from whichever port holds it (the
# filters of the list calls find it), so that plugging it again is no 409.
release() {
	local net port
	for net in $(api GET "/networks?attachment=$1" | all_ids); do
		for port in $(api GET "/networks/$net/ports?attachment=$1" | all_ids); do
			api DELETE "/networks/$net/ports/$port/attachment" >/dev/null
		done
	done
}

check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then log "ok:   $what"; else log "FAIL: $what"; FAILS=$((FAILS + 1)); fi
}

not() { ! "$@"; }

# wait_up NET PORT: the wait extension first, then plain polling.
wait_up() {
	local tries=30
	while [ "$tries" -gt 0 ]; do
		tries=$((tries - 1))
		if api GET "/networks/$1/ports/$2/attachment?wait=UP&timeout=5" | grep -q '"status": *"UP"'; then
			return 0
		fi
		sleep 1
	done
	return 1
}

for att in vif-vm1 vif-vm2 vif-vm3; do release "$att"; done
NET1=$(api POST /networks '{"network":{"name":"net1"}}' | first_id)
NET2=$(api POST /networks '{"network":{"name":"net2"}}' | first_id)
P1=$(api POST "/networks/$NET1/ports" '{"port":{"state":"ACTIVE"}}' | first_id)
P2=$(api POST "/networks/$NET1/ports" '{"port":{"state":"ACTIVE"}}' | first_id)
P3=$(api POST "/networks/$NET2/ports" '{"port":{"state":"ACTIVE"}}' | first_id)
for v in "$NET1" "$NET2" "$P1" "$P2" "$P3"; do
	[ -n "$v" ] || { log "could not read the new ids: is the agent running on $QUANTUM_SOCKET?"; exit 1; }
done
api PUT "/networks/$NET1/ports/$P1/attachment" '{"attachment":{"id":"vif-vm1","device":"tapvm1"}}' >/dev/null
api PUT "/networks/$NET1/ports/$P2/attachment" '{"attachment":{"id":"vif-vm2","device":"tapvm2"}}' >/dev/null
api PUT "/networks/$NET2/ports/$P3/attachment" '{"attachment":{"id":"vif-vm3","device":"tapvm3"}}' >/dev/null

check "vif-vm1 UP" wait_up "$NET1" "$P1"
check "vif-vm2 UP" wait_up "$NET1" "$P2"
check "vif-vm3 UP" wait_up "$NET2" "$P3"
api GET "/networks/$NET1/attachments" >/dev/null || true
api GET /networks/detail >/dev/null
check "vm1 -> vm2 (net1) pings" ip netns exec "$VM1" ping -c3 -W2 -i0.2 198.18.0.2
check "vm1 -> vm3 (net2) does not ping" not ip netns exec "$VM1" ping -c2 -W1 -i0.2 198.18.0.3
check "vm3 -> vm2 does not ping" not ip netns exec "$VM3" ping -c2 -W1 -i0.2 198.18.0.2

# Set port 2 DOWN: a DOWN port passes no traffic.
api PUT "/networks/$NET1/ports/$P2" '{"port":{"state":"DOWN"}}' >/dev/null
sleep 2
check "vm1 -> vm2 stops once port 2 is DOWN" not ip netns exec "$VM1" ping -c2 -W1 -i0.2 198.18.0.2
api PUT "/networks/$NET1/ports/$P2" '{"port":{"state":"ACTIVE"}}' >/dev/null

log "NET1=$NET1 NET2=$NET2 P1=$P1 P2=$P2 P3=$P3"
if [ "$FAILS" -ne 0 ]; then log "$FAILS check(s) failed"; exit 1; fi
log "all checks passed"
