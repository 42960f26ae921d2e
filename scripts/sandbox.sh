#!/usr/bin/env bash
# sandbox.sh — what `make run` does: runs quantum-agent with a real datapath on a
# throwaway "hypervisor" network namespace with its own userspace Open vSwitch,
# three demo "VMs" (namespaces behind veth taps) and its own Quantum DB.
# Nothing on the host's own interfaces or OVS is touched. Whatever ends it —
# Ctrl-C, SIGTERM, its terminal closing (SIGHUP), a reader of its output going
# away (SIGPIPE, e.g. `make run | tee log` and tee killed), or a normal exit —
# it stops every process it started (by PID), deletes the namespaces and the
# temp dir. If a sandbox of the same name exists already it refuses to start
# and prints the command that removes it (`scripts/sandbox.sh clean`).
#
# usage: scripts/sandbox.sh [--no-agent | --selftest] [-- extra quantum-agent flags]
#        scripts/sandbox.sh clean
#   --no-agent   set up everything but the agent, then wait for Ctrl-C
#                (to run the agent yourself, e.g. under a debugger)
#   --selftest   set up everything but the agent, wire the taps with ovs-vsctl,
#                check ping (and TCP when python3 is there), clean up, exit
#   clean        stop a running sandbox of this name, or remove what a killed
#                one left behind (namespaces, processes, temp dir); `make run-clean`
# env: SANDBOX_KEEP=1 keeps the temp dir (logs, databases) after exit.
#      SANDBOX_NAME=qsandbox is the namespace name prefix.
#      SANDBOX_NO_INSTALL=1 fails instead of installing missing packages (tests
#      never change the host).
#      SANDBOX_BIN=DIR runs DIR/quantum-agent as it is, without building
#      (the tests build the binaries once); default: make build into bin/.
# Needs root. Only 198.18.0.0/15 addresses are used.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
BIN=${SANDBOX_BIN:-$ROOT/bin}

MODE=agent
EXTRA_AGENT_ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-agent) MODE=no-agent ;;
	--selftest) MODE=selftest ;;
	clean) MODE=clean ;;
	-h | --help) sed -n '2,26p' "$0"; exit 0 ;;
	--) shift; EXTRA_AGENT_ARGS=("$@"); break ;;
	*) echo "sandbox: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done

# log writes to stderr and never fails: stderr may be a closed pipe or a
# hung-up terminal by the time cleanup runs, and under `set -e` a failed
# write would end the script before it has cleaned up.
log() { printf '[sandbox] %s\n' "$*" >&2 || true; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- preflight

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		die "must run as root (it creates network namespaces, veth pairs and its own OVS): try 'sudo make run'"
	fi
}

ensure_packages() {
	local missing=()
	command -v ovsdb-server >/dev/null || missing+=(openvswitch-switch)
	command -v ip >/dev/null || missing+=(iproute2)
	command -v ping >/dev/null || missing+=(iputils-ping)
	command -v curl >/dev/null || missing+=(curl)
	[ ${#missing[@]} -eq 0 ] && return
	[ -z "${SANDBOX_NO_INSTALL:-}" ] || die "missing ${missing[*]} (SANDBOX_NO_INSTALL is set: not installing)"
	command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them by hand"
	log "installing ${missing[*]} with apt-get"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

build_binaries() {
	[ "$MODE" = agent ] || return 0
	[ -z "${SANDBOX_BIN:-}" ] || return 0
	command -v go >/dev/null || die "Go not found (expected /usr/local/go/bin/go)"
	log "building bin/quantum-agent and bin/quantumctl"
	make -C "$ROOT" --no-print-directory build
	[ -x "$BIN/quantum-agent" ] || die "bin/quantum-agent was not built (is cmd/quantum-agent there yet?)"
}

# The sandbox's names. They are fixed (the README and the printed commands
# name qsandbox-vm1 …): a sandbox that exists already is refused, not
# renamed around, so what the docs say is what was made.
set_names() {
	PREFIX=${SANDBOX_NAME:-qsandbox}
	HV=$PREFIX-hv
	VMS=("$PREFIX-vm1" "$PREFIX-vm2" "$PREFIX-vm3")
}

# Refuses to start over a sandbox of the same name (running, or left behind by
# a kill -9): reusing it would mean a Quantum DB and OVS in an unknown state.
refuse_existing() {
	local ns found=()
	for ns in "$HV" "${VMS[@]}"; do
		if ns_exists "$ns"; then found+=("$ns"); fi
	done
	[ ${#found[@]} -eq 0 ] && [ -z "$(sandbox_dirs)" ] && return 0
	log "a sandbox named $PREFIX exists already (${found[*]:-its temp dir $(sandbox_dirs)})"
	log "another 'make run' may still be going: Ctrl-C it there. Otherwise remove it with:"
	log "  $(clean_command)"
	exit 1
}

clean_command() {
	if [ -n "${SANDBOX_NAME:-}" ]; then
		echo "SANDBOX_NAME=$SANDBOX_NAME $0 clean"
	else
		echo "make run-clean   (or: $0 clean)"
	fi
}

# sandbox_dirs: the temp dirs of sandboxes of this name (their sandbox.env says HV=).
sandbox_dirs() {
	local f
	for f in "${TMPDIR:-/tmp}"/qsandbox.*/sandbox.env; do
		[ -r "$f" ] && grep -qx "HV=$HV" "$f" && dirname "$f"
	done
	return 0
}

ns_exists() { [ -e "/run/netns/$1" ]; }

# ---------------------------------------------------------------- cleanup

CREATED_NS=()
D=""
CLEANED=""

# Stops the process whose PID is in $1 (a pidfile) if its command is $2.
stop_pidfile() {
	local pidfile=$1 name=$2 pid
	[ -s "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	stop_pid "$pid" "$name"
}

# alive PID: true while PID runs (a zombie waiting for its reaper is gone).
alive() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

stop_pid() {
	local pid=$1 name=$2 i
	[[ "$pid" =~ ^[0-9]+$ ]] || return 0
	alive "$pid" || return 0
	if ! grep -q -- "$name" "/proc/$pid/comm" 2>/dev/null; then
		log "pid $pid is not $name any more; left alone"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		alive "$pid" || return 0
		sleep 0.1
	done
	log "$name (pid $pid) ignored SIGTERM for 5s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	[ -n "$CLEANED" ] && return
	CLEANED=1
	# From here on nothing may stop the cleanup: a second Ctrl-C, the terminal
	# going away, a write to a closed pipe, a failing command under set -e.
	trap '' INT TERM HUP PIPE
	set +e
	log "stopping"
	if [ -n "${SLEEP_PID:-}" ]; then kill "$SLEEP_PID" 2>/dev/null || true; fi
	if [ -n "${AGENT_PID:-}" ]; then stop_pid "$AGENT_PID" quantum-agent; fi
	if [ -n "$D" ]; then
		stop_pidfile "$D/vswitchd.pid" ovs-vswitchd
		stop_pidfile "$D/ovs-db.pid" ovsdb-server
		stop_pidfile "$D/quantum-db.pid" ovsdb-server
	fi
	local ns
	for ns in "${CREATED_NS[@]}"; do
		ip netns delete "$ns" 2>/dev/null || log "could not delete netns $ns"
	done
	if [ -n "$D" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -le 128 ]; then show_logs; fi
		if [ -n "${SANDBOX_KEEP:-}" ]; then
			log "kept $D"
		else
			rm -rf -- "$D"
		fi
	fi
	log "cleaned up"
}

# clean_sandbox: what `scripts/sandbox.sh clean` does. A sandbox script still
# running is asked to stop (SIGTERM: it cleans up itself); what is left —
# after a kill -9, say — is removed here: processes by PID (from the pidfiles
# and from `ip netns pids`), the namespaces, the temp dirs.
clean_sandbox() {
	local dir pid i ns found=""
	for dir in $(sandbox_dirs); do
		found=1
		pid=$(sed -n 's/^SANDBOX_PID=//p' "$dir/sandbox.env")
		if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && grep -q sandbox "/proc/$pid/cmdline" 2>/dev/null; then
			log "asking the running sandbox (pid $pid) to stop"
			kill -TERM "$pid" 2>/dev/null || true
			for i in $(seq 1 300); do
				alive "$pid" || break
				sleep 0.1
			done
		fi
		[ -d "$dir" ] || continue
		stop_pidfile "$dir/agent.pid" quantum-agent
		stop_pidfile "$dir/vswitchd.pid" ovs-vswitchd
		stop_pidfile "$dir/ovs-db.pid" ovsdb-server
		stop_pidfile "$dir/quantum-db.pid" ovsdb-server
		rm -rf -- "$dir"
		log "removed $dir"
	done
	for ns in "$HV" "${VMS[@]}"; do
		ns_exists "$ns" || continue
		found=1
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			stop_pid "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)"
		done
		ip netns delete "$ns" && log "deleted netns $ns"
	done
	if [ -n "$found" ]; then log "sandbox $PREFIX cleaned"; else log "no sandbox named $PREFIX"; fi
}

show_logs() {
	local f
	for f in "$D"/*.log; do
		[ -s "$f" ] || continue
		log "--- last lines of $f"
		tail -n 15 "$f" >&2 || true
	done
}

# on_signal NAME NUMBER: exits 128+NUMBER, which runs cleanup (the EXIT trap).
# SIGPIPE is ignored first: the message below may itself go to the pipe whose
# reader is gone, and must not kill the handler.
on_signal() {
	trap '' PIPE
	log "caught SIG$1"
	exit $((128 + $2))
}

# ---------------------------------------------------------------- set-up

make_tempdir() {
	D=$(mktemp -d "${TMPDIR:-/tmp}/qsandbox.XXXXXX")
	chmod 755 "$D"
	# OVS puts its sockets and logs under these unless told otherwise.
	export OVS_RUNDIR=$D OVS_LOGDIR=$D OVS_DBDIR=$D
}

# (a) the Quantum DB: our schema, served by a plain ovsdb-server.
start_quantum_db() {
	log "starting the Quantum DB (ovsdb-server on $D/quantum-db.sock)"
	ovsdb-tool create "$D/quantum.db" "$ROOT/agent/qdb/quantum.ovsschema"
	ovsdb-server "$D/quantum.db" --remote="punix:$D/quantum-db.sock" \
		--pidfile="$D/quantum-db.pid" --unixctl="$D/quantum-db.ctl" \
		--log-file="$D/quantum-db.log" --detach
}

add_netns() {
	ip netns add "$1"
	CREATED_NS+=("$1")
	ip -n "$1" link set lo up
	no_ipv6 "$1"
}

# IPv6 off in the namespace (default too, so later links are born without it):
# link-local addresses slow the userspace datapath down and are noise here.
no_ipv6() {
	[ -d /proc/sys/net/ipv6 ] || return 0
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# (b) the hypervisor: a namespace with its own ovsdb-server and ovs-vswitchd
# (DESIGN §5). userspace-tso-enable must be set before vswitchd starts, or TCP
# through veth ports moves no bytes on the netdev datapath.
start_hypervisor() {
	add_netns "$HV"
	local schema=/usr/share/openvswitch/vswitch.ovsschema
	[ -r "$schema" ] || die "no $schema: is openvswitch-common installed?"
	log "starting OVS in netns $HV (ovsdb-server on $D/ovs-db.sock, ovs-vswitchd)"
	ovsdb-tool create "$D/conf.db" "$schema"
	ip netns exec "$HV" ovsdb-server "$D/conf.db" --remote="punix:$D/ovs-db.sock" \
		--pidfile="$D/ovs-db.pid" --unixctl="$D/ovs-db.ctl" --log-file="$D/ovs-db.log" --detach
	ovs-vsctl --db="unix:$D/ovs-db.sock" --no-wait init -- \
		set Open_vSwitch . other_config:userspace-tso-enable=true
	ip netns exec "$HV" env OVS_RUNDIR="$D" ovs-vswitchd "unix:$D/ovs-db.sock" \
		--pidfile="$D/vswitchd.pid" --unixctl="$D/vswitchd.ctl" --log-file="$D/vswitchd.log" --detach
}

# (c) three "VMs": a namespace each, eth0 inside, its tap on the hypervisor.
start_vms() {
	local i vm
	for i in 1 2 3; do
		vm=${VMS[$((i - 1))]}
		add_netns "$vm"
		ip link add "tapvm$i" netns "$HV" type veth peer name eth0 netns "$vm"
		ip -n "$vm" addr add "198.18.0.$i/24" dev eth0
		ip -n "$vm" link set eth0 up
		ip -n "$HV" link set "tapvm$i" up
	done
	log "VMs: ${VMS[0]} 198.18.0.1 (tapvm1), ${VMS[1]} 198.18.0.2 (tapvm2), ${VMS[2]} 198.18.0.3 (tapvm3)"
}

write_env() {
	cat >"$D/sandbox.env" <<-EOF
		SANDBOX_PID=$$
		D=$D
		ROOT=$ROOT
		HV=$HV
		VM1=${VMS[0]}
		VM2=${VMS[1]}
		VM3=${VMS[2]}
		QUANTUM_SOCKET=$D/quantum.sock
		OVS_DB=unix:$D/ovs-db.sock
		QUANTUM_DB=unix:$D/quantum-db.sock
	EOF
}

# ---------------------------------------------------------------- running

print_usage() {
	cat <<-EOF

	================================================================ quantum-agent sandbox
	In another root shell:

	  export QUANTUM_SOCKET=$D/quantum.sock
	  alias qc='$BIN/quantumctl --socket $D/quantum.sock --tenant demo'

	  NET1=\$(qc net-create -q net1)           # -q: print just the new id
	  NET2=\$(qc net-create -q net2)
	  P1=\$(qc port-create -q \$NET1 --state ACTIVE)
	  P2=\$(qc port-create -q \$NET1 --state ACTIVE)
	  P3=\$(qc port-create -q \$NET2 --state ACTIVE)
	  qc plug \$NET1 \$P1 vif-vm1 --device tapvm1
	  qc plug \$NET1 \$P2 vif-vm2 --device tapvm2
	  qc plug \$NET2 \$P3 vif-vm3 --device tapvm3
	  qc att-list \$NET1                     # status PROVISIONING, then UP once wired

	  ip netns exec ${VMS[0]} ping -c3 198.18.0.2   # works: same network
	  ip netns exec ${VMS[0]} ping -c3 198.18.0.3   # does not: other network

	  curl -s --unix-socket \$QUANTUM_SOCKET http://localhost/v1.1/tenants/demo/networks/detail
	  curl -s --unix-socket \$QUANTUM_SOCKET http://localhost/v1.1/tenants/demo/networks.xml
	  ovs-vsctl --db=unix:$D/ovs-db.sock show
	  ip netns exec $HV curl -s http://127.0.0.1:9697/metrics | grep ^quantum_agent

	All of the above in one go, with checks:  $ROOT/scripts/sandbox-demo.sh $D/sandbox.env
	Logs: $D/*.log      Ctrl-C here stops everything and cleans up
	(so does closing this terminal; after a kill -9: make run-clean).
	======================================================================================

	EOF
}

run_agent() {
	print_usage
	log "starting quantum-agent in netns $HV (foreground)"
	# Started in the background and waited for, so that a signal to this script
	# is handled at once; cleanup stops the agent by its PID.
	ip netns exec "$HV" "$BIN/quantum-agent" \
		--socket "$D/quantum.sock" \
		--quantum-db "unix:$D/quantum-db.sock" \
		--ovs-db "unix:$D/ovs-db.sock" \
		--ovs-datapath-type netdev \
		--network-vlan-ranges physnet1:100:199 \
		--host sandbox \
		--metrics-listen 127.0.0.1:9697 \
		--log-level info \
		"${EXTRA_AGENT_ARGS[@]}" </dev/null &
	AGENT_PID=$!
	echo "$AGENT_PID" >"$D/agent.pid"
	local rc=0
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=""
	log "quantum-agent exited with status $rc"
	return "$rc"
}

wait_forever() {
	write_env
	log "set up without the agent; run it yourself with e.g.:"
	cat >&2 <<-EOF
		  ip netns exec $HV $BIN/quantum-agent --socket $D/quantum.sock \\
		    --quantum-db unix:$D/quantum-db.sock --ovs-db unix:$D/ovs-db.sock \\
		    --ovs-datapath-type netdev --network-vlan-ranges physnet1:100:199 --host sandbox
	EOF
	log "Ctrl-C to stop and clean up"
	while :; do
		sleep 3600 &
		SLEEP_PID=$!
		wait "$SLEEP_PID" || true
	done
}

# Wires the taps by hand, the way the agent should: tapvm1/2 on tag 101,
# tapvm3 on tag 102, and checks who reaches whom. Proves the test bed.
selftest() {
	local vsctl=(ovs-vsctl --db="unix:$D/ovs-db.sock" --timeout=30)
	"${vsctl[@]}" add-br br-int -- set Bridge br-int datapath_type=netdev
	"${vsctl[@]}" add-port br-int tapvm1 tag=101 -- add-port br-int tapvm2 tag=101 \
		-- add-port br-int tapvm3 tag=102
	local fails=0
	check "vm1 -> vm2 (same tag) pings" ip netns exec "${VMS[0]}" ping -c2 -W2 -i0.2 198.18.0.2 || fails=$((fails + 1))
	check "vm1 -> vm3 (other tag) does not ping" not ip netns exec "${VMS[0]}" ping -c2 -W1 -i0.2 198.18.0.3 || fails=$((fails + 1))
	if command -v python3 >/dev/null; then
		check "TCP vm2 -> vm1 moves 32 MiB" tcp_check || fails=$((fails + 1))
	else
		log "no python3: TCP check skipped"
	fi
	if [ "$fails" -ne 0 ]; then die "selftest: $fails check(s) failed"; fi
	log "selftest passed"
}

check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then log "ok:   $what"; else log "FAIL: $what"; return 1; fi
}

not() { ! "$@"; }

# A TCP sink in vm1 and a sender in vm2: catches the userspace-TSO pitfall,
# where ping works but TCP through veth moves nothing.
tcp_check() {
	local port=5201 got
	ip netns exec "${VMS[0]}" timeout 20 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    n += len(b)
print(n)' "$port" >"$D/tcp.out" &
	local sink=$!
	sleep 0.5
	ip netns exec "${VMS[1]}" timeout 15 python3 -c '
import socket, sys
s = socket.create_connection(("198.18.0.1", int(sys.argv[1])), timeout=10)
buf = b"x" * (1 << 20)
for _ in range(32): s.sendall(buf)
s.close()' "$port" || true
	wait "$sink" || true
	got=$(cat "$D/tcp.out" 2>/dev/null || echo 0)
	[ "${got:-0}" -eq $((32 << 20)) ]
}

# ---------------------------------------------------------------- main

main() {
	require_root
	set_names
	if [ "$MODE" = clean ]; then
		clean_sandbox
		return
	fi
	refuse_existing
	ensure_packages
	build_binaries
	# Every way the script can end runs cleanup: exit (normal or set -e) via
	# EXIT, and each signal that would otherwise kill bash outright.
	trap cleanup EXIT
	trap 'on_signal HUP 1' HUP
	trap 'on_signal INT 2' INT
	trap 'on_signal PIPE 13' PIPE
	trap 'on_signal TERM 15' TERM
	make_tempdir
	write_env # first: `clean` finds a killed sandbox's leftovers by it
	start_quantum_db
	start_hypervisor
	start_vms
	case "$MODE" in
	agent) run_agent ;;
	no-agent) wait_forever ;;
	selftest) selftest ;;
	esac
}

main
