#!/bin/bash
# scenario.sh: what an operator does with the package on a freshly booted Debian, run by
# quantum-boot-test.service inside the throwaway system that packaging/boot_test.go boots
# with systemd-nspawn (a real systemd PID 1). Each step's shell commands run under
# `set -eux`; the step passes when they all succeed. The results go to $results, one line
# per step ("PASS name", "FAIL name" followed by the step's last output lines indented
# with "  | ", or "SKIP name: why"), then "DONE"; the test reads them after power-off.
#
# Layout made by the test in the root before the boot (all under $lib):
#   doc-install.sh, doc-single-host.sh, doc-upgrade.sh, doc-convert.sh, doc-purge.sh,
#   doc-cleanup.sh the tagged shell blocks of docs/operations.md, verbatim
#   edit-conf      the $EDITOR of the Single-host step: writes this test's settings
#   v1/, v2/       the package as built, and the same built as a newer version
set -u

lib=/usr/local/lib/quantum-boot
out=/var/lib/quantum-boot-test
results=$out/results
state=$out/state # ids of what the steps made, for the later steps
mkdir -p "$out"
: >"$results"
: >"$state"

# The Quantum DB's and the agent's sockets are root-only or group-only: quantumctl runs as
# root here unless a step says otherwise.
export QUANTUM_TENANT=boot-test

failed=" "

# step NAME NEEDS... -- runs the function step_NAME unless a step it needs failed.
step() {
	name=$1
	shift
	for need in "$@"; do
		case $failed in *" $need "*)
			echo "SKIP $name: step $need failed" >>"$results"
			failed="$failed$name "
			return
			;;
		esac
	done
	echo "quantum-boot: step $name" >/dev/console
	log=$out/$name.log
	since=$(date '+%Y-%m-%d %H:%M:%S')
	# Not in an if: errexit is off in a condition's commands, even with set -e inside.
	(set -eux -o pipefail; "step_$name") >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && cgroup_race "$since"; then
		# The machine's race (below), not the step's: once systemd has recovered,
		# run the step once more, so that a flake does not cost its check.
		echo "quantum-boot: step $name hit 219/CGROUP; running it again" >/dev/console
		poll 30 systemctl is-active -q quantum-agent.service >/dev/null 2>&1 || true
		since=$(date '+%Y-%m-%d %H:%M:%S')
		(set -eux -o pipefail; "step_$name") >"$log" 2>&1
		rc=$?
	fi
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name" >>"$results"
	elif [ "$rc" -eq 77 ]; then
		# The step found it cannot run here; its last line says why.
		echo "SKIP $name: $(tail -n 1 "$log")" >>"$results"
	elif cgroup_race "$since"; then
		# systemd here could not move a started process into its unit's cgroup: on a
		# host with cgroup v1 only, under load, a restart right after a stop sometimes
		# races the removal of the old cgroup. The machine's failure, not the
		# package's: the step ran twice and hit it both times; say so and go on.
		{
			echo "SKIP $name: systemd in this container failed to start a unit with 219/CGROUP (cgroup v1 host): not the package's failure"
			tail -n 30 "$log" | sed 's/^/  | /'
			journalctl --no-pager --since "$since" | grep -B2 -A2 '219/CGROUP' | sed 's/^/  | /'
		} >>"$results"
		poll 30 systemctl is-active -q quantum-agent.service >/dev/null 2>&1 || true
	else
		{
			echo "FAIL $name (exit $rc)"
			tail -n 60 "$log" | sed 's/^/  | /'
			echo "  | ---- the units' state and last journal lines:"
			systemctl --no-pager status quantum-agent.service quantum-ovsdb.service 2>&1 | head -n 30 | sed 's/^/  | /'
			journalctl --no-pager -u quantum-agent.service -u quantum-ovsdb.service -n 40 2>&1 | sed 's/^/  | /'
		} >>"$results"
		failed="$failed$name "
	fi
}

# cgroup_race SINCE: systemd failed to start a unit with 219/CGROUP since then.
cgroup_race() { journalctl --no-pager --since "$1" | grep -q 'status=219/CGROUP'; }

# skip NAME WHY: a step that cannot run here says why.
skip() { echo "SKIP $1: $2" >>"$results"; }

# cannot WHY: ends the running step as skipped (exit 77), saying why.
cannot() {
	set +x
	echo "cannot run here: $*"
	exit 77
}

# poll TRIES CMD...: runs CMD once a second until it succeeds, at most TRIES times. A
# bound on how long to wait for systemd, not an assertion on how long it takes.
poll() {
	n=$1
	shift
	for _ in $(seq "$n"); do
		if "$@"; then return 0; fi
		sleep 1
	done
	echo "gave up after $n tries: $*" >&2
	return 1
}

# not CMD...: fails when CMD succeeds (`! CMD` would not: errexit ignores it).
not() {
	if "$@"; then
		echo "succeeded, but should not have: $*" >&2
		return 1
	fi
}

# json_id reads the first "id" of quantumctl -o json output on stdin.
json_id() { sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1; }

save() { echo "$1=$2" >>"$state"; }

units="quantum-ovsdb.service quantum-agent.socket quantum-agent.service"

step_install() {
	cd "$lib/v1"
	bash -eux "$lib/doc-install.sh"
	test "$(dpkg-query -W -f '${db:Status-Status}' quantum-agent)" = installed
	for f in /usr/bin/quantum-agent /usr/bin/quantumctl /usr/lib/quantum-agent/quantum-ovsdb-start; do
		test "$(stat -c '%a %U:%G' "$f")" = "755 root:root"
	done
	for f in /lib/systemd/system/quantum-agent.service /lib/systemd/system/quantum-agent.socket \
		/lib/systemd/system/quantum-ovsdb.service /usr/share/quantum-agent/quantum.ovsschema \
		/etc/quantum-agent/agent.conf /usr/share/doc/quantum-agent/README.md.gz; do
		test "$(stat -c '%a %U:%G' "$f")" = "644 root:root"
	done
	test "$(stat -c '%a %U:%G' /var/lib/quantum)" = "700 root:root"
	gid=$(getent group quantum | cut -d: -f3)
	test "$gid" -lt 1000 # a system group
	# Nothing enabled or started by the install.
	for u in $units; do
		test "$(systemctl is-enabled "$u" || true)" = disabled
		not systemctl is-active -q "$u"
	done
	# The units load cleanly, now that what they start exists.
	v=$(systemd-analyze verify /lib/systemd/system/quantum-agent.service \
		/lib/systemd/system/quantum-agent.socket /lib/systemd/system/quantum-ovsdb.service 2>&1)
	test -z "$v"
	# The unit's Documentation= names files the package ships.
	for d in $(systemctl show -p Documentation --value quantum-agent.service quantum-ovsdb.service); do
		case $d in
		file://*) test -e "${d#file://}" ;;
		man:*) p=${d#man:} && p=${p%%(*} && man -w "$p" >/dev/null 2>&1 || ls /usr/share/man/man*/"$p".*.gz ;;
		esac
	done
}

step_version() {
	v=$(dpkg-query -W -f '${Version}' quantum-agent)
	test "$(quantum-agent --version)" = "quantum-agent $v"
	test "$(quantumctl --version)" = "quantumctl $v"
}

step_single_host() {
	EDITOR=$lib/edit-conf bash -eux "$lib/doc-single-host.sh"
	for u in $units; do
		test "$(systemctl is-enabled "$u")" = enabled
		systemctl is-active -q "$u"
	done
	systemctl show -p StatusText --value quantum-agent.service | grep '^ready'
}

step_socket() {
	test "$(stat -c '%F %a %U:%G' /run/quantum/quantum.sock)" = "socket 660 root:quantum"
	# The Quantum DB's socket is root's alone.
	test "$(stat -c '%a %U' /run/quantum/db.sock)" = "700 root"
}

step_access() {
	useradd --create-home nova
	useradd --create-home eve
	adduser nova quantum # as operations.md's Install section says
	runuser -u nova -- quantumctl net-list
	if runuser -u eve -- quantumctl net-list >"$out/eve.out" 2>&1; then
		cat "$out/eve.out"
		return 1
	fi
	cat "$out/eve.out"
	grep -i 'permission denied' "$out/eve.out"
}

# vm N: a "VM" in network namespace vmN, its eth0 at 198.18.0.N/24, its tap tapN here.
vm() {
	ip netns add "vm$1"
	ip link add "tap$1" type veth peer name eth0 netns "vm$1"
	ip -n "vm$1" link set lo up
	ip -n "vm$1" addr add "198.18.0.$1/24" dev eth0
	ip -n "vm$1" link set eth0 up
	ip link set "tap$1" up
}

# plug N NET: a port on NET, VM N's interface plugged into it, waiting until UP.
plug() {
	port=$(quantumctl port-create "$2" --state ACTIVE -o json | json_id)
	test -n "$port"
	quantumctl plug "$2" "$port" "vif$1" --device "tap$1" --wait
	save "port$1" "$port"
}

step_vms() {
	# What the VMs need of this kernel and container: bridges, veths, namespaces.
	ip link add qa-probe type bridge 2>"$out/probe.err" || cannot "no bridge: $(cat "$out/probe.err")"
	ip link delete qa-probe
	ip netns add qa-probe 2>"$out/probe.err" || cannot "no network namespace: $(cat "$out/probe.err")"
	ip netns delete qa-probe
	# Host-local networks: this kernel carries no 802.1Q, and the linuxbridge datapath's
	# local networks are a bridge alone.
	net1=$(quantumctl net-create --type local boot-net1 -o json | json_id)
	net2=$(quantumctl net-create --type local boot-net2 -o json | json_id)
	test -n "$net1" -a -n "$net2"
	save net1 "$net1"
	save net2 "$net2"
	vm 1
	vm 2
	vm 3
	plug 1 "$net1"
	plug 2 "$net1"
	plug 3 "$net2"
	wired
}

# wired: the three attachments are UP, VMs 1 and 2 ping each other, VM 3 (another
# network) reaches neither.
wired() {
	. "$state"
	for n in 1 2; do
		quantumctl attachment-show "$net1" "$(eval echo "\$port$n")" -o json | grep '"status": *"UP"'
	done
	quantumctl attachment-show "$net2" "$port3" -o json | grep '"status": *"UP"'
	ip netns exec vm1 ping -c 3 -W 2 198.18.0.2
	ip netns exec vm2 ping -c 3 -W 2 198.18.0.1
	not ip netns exec vm1 ping -c 2 -W 1 198.18.0.3
}

restarts() { systemctl show -p NRestarts --value quantum-agent.service; }
mainpid() { systemctl show -p MainPID --value quantum-agent.service; }

step_watchdog() {
	pid=$(mainpid)
	n=$(restarts)
	kill -STOP "$pid"
	# WatchdogSec=30s: systemd aborts the frozen agent and starts a new one.
	poll 180 sh -c "test \"\$(systemctl show -p NRestarts --value quantum-agent.service)\" -gt $n"
	poll 120 systemctl is-active -q quantum-agent.service
	test "$(mainpid)" != "$pid"
	journalctl -u quantum-agent.service --no-pager | grep -i 'watchdog timeout'
	poll 60 quantumctl status
	wired
}

step_reload() {
	since=$(date '+%Y-%m-%d %H:%M:%S')
	pid=$(mainpid)
	systemctl reload quantum-agent
	poll 30 sh -c "journalctl -u quantum-agent.service --since '$since' --no-pager | grep 'SIGHUP: configuration read again'"
	test "$(mainpid)" = "$pid"
}

step_restart_ping() {
	ip netns exec vm1 ping -i 0.2 198.18.0.2 >"$out/ping.log" 2>&1 &
	ping=$!
	poll 10 grep -q 'bytes from' "$out/ping.log"
	pid=$(mainpid)
	systemctl restart quantum-agent
	test "$(mainpid)" != "$pid"
	quantumctl status
	# A few more replies after the restart, then the count.
	n=$(grep -c 'bytes from' "$out/ping.log")
	poll 10 sh -c "test \$(grep -c 'bytes from' '$out/ping.log') -ge $((n + 5))"
	kill -INT "$ping"
	wait "$ping" || true
	cat "$out/ping.log" | tail -n 3
	grep -E '^[0-9]+ packets transmitted, [0-9]+ received, 0% packet loss' "$out/ping.log"
	wired
}

step_activation() {
	systemctl stop quantum-agent.service
	not systemctl is-active -q quantum-agent.service
	systemctl is-active -q quantum-agent.socket
	# A connection to the socket starts the agent again (it answers before its
	# first reconcile pass is done: then status says "not ready").
	quantumctl net-list
	poll 60 quantumctl status
	# systemd learns of READY=1 a moment after the agent says ready.
	poll 60 systemctl is-active -q quantum-agent.service
	# The docs' way to keep it down: the socket too.
	systemctl stop quantum-agent.socket quantum-agent.service
	not quantumctl --timeout 3s status
	not systemctl is-active -q quantum-agent.service
	test ! -e /run/quantum/quantum.sock
	systemctl start quantum-agent.socket quantum-agent.service
	quantumctl status
	wired
}

step_upgrade() {
	old=$(dpkg-query -W -f '${Version}' quantum-agent)
	pid=$(mainpid)
	cd "$lib/v2"
	bash -eux "$lib/doc-upgrade.sh"
	new=$(dpkg-query -W -f '${Version}' quantum-agent)
	dpkg --compare-versions "$new" gt "$old"
	test "$(quantum-agent --version)" = "quantum-agent $new"
	# The running agent was restarted onto the new binary, the edited conffile kept.
	systemctl is-active -q quantum-agent.service
	test "$(mainpid)" != "$pid"
	grep '^datapath = "linuxbridge"' /etc/quantum-agent/agent.conf
	poll 60 quantumctl status
	quantumctl net-list | grep boot-net1
	wired
}

step_convert() {
	bash -eux "$lib/doc-convert.sh"
	test -e /var/lib/quantum/quantum.db.bak
	systemctl is-active -q quantum-agent.service
	poll 60 quantumctl status
	wired
}

step_purge() {
	. "$state"
	# operations.md's Remove section: a remove stops the units and keeps the
	# configuration, the Quantum DB and the group...
	apt remove quantum-agent
	test "$(dpkg-query -W -f '${db:Status-Status}' quantum-agent)" = config-files
	test ! -e /usr/bin/quantum-agent
	not systemctl is-active -q quantum-agent.service
	not systemctl is-active -q quantum-ovsdb.service
	test -f /etc/quantum-agent/agent.conf
	test -f /var/lib/quantum/quantum.db
	getent group quantum
	# ...and the purge deletes them.
	bash -eux "$lib/doc-purge.sh"
	st=$(dpkg-query -W -f '${db:Status-Status}' quantum-agent 2>/dev/null || true)
	test -z "$st" -o "$st" = not-installed
	for p in /usr/bin/quantum-agent /usr/bin/quantumctl /usr/lib/quantum-agent /usr/share/quantum-agent \
		/lib/systemd/system/quantum-agent.service /lib/systemd/system/quantum-agent.socket \
		/lib/systemd/system/quantum-ovsdb.service /etc/quantum-agent /var/lib/quantum \
		/usr/share/doc/quantum-agent /run/quantum/quantum.sock; do
		test ! -e "$p"
	done
	not getent group quantum
	test -z "$(find /etc/systemd/system -name 'quantum-agent.*' -o -name 'quantum-ovsdb.*')"
	not pgrep -x quantum-agent
	not pgrep -f /var/lib/quantum/quantum.db
	# What the agent made stays, unmanaged, as the docs say: the VMs' network works on...
	ip -o link show type bridge | grep -c brq
	ip netns exec vm1 ping -c 2 -W 2 198.18.0.2
	# ...until the operator removes it the docs' way.
	bash -eux "$lib/doc-cleanup.sh"
	test -z "$(ip -o link show type bridge | grep brq || true)"
	not ip netns exec vm1 ping -c 1 -W 1 198.18.0.2
}

step install
step version install
step single_host install
step socket single_host
step access single_host
step vms single_host
step watchdog vms
step reload vms
step restart_ping vms
step activation vms
if [ -d "$lib/v2" ]; then
	step upgrade vms
else
	skip upgrade "no newer package was built"
fi
step convert vms
step purge install
echo DONE >>"$results"
sync
systemctl poweroff --no-block
