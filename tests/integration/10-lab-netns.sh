#!/usr/bin/env bash
# Integration: the namespace lab itself - topology, reachability, cleanup.
#
# Part 1 builds host + vm + a Linux bridge with two plain-namespace
# "containers" in a subshell, checks the topology (ip -j) and who reaches
# whom; when the subshell exits its trap must remove everything.  Part 2
# sends TERM to a lab running in another process: the trap must clean up
# after a signal too.  Part 3 kills a lab's shell with SIGKILL, so no trap
# runs: lab_reap_stale (which lab_init calls) must then remove the rest.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh

tmp=$(mktemp -d /tmp/gw-lab10.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

host_routes_only_uplink()
{
	local r4 r6

	r4=$(lab_routes host 4)
	r6=$(lab_routes host 6 | grep -v '^fe80::/64 ')
	[[ $r4 == "$LAB_UPLINK4 $LAB_HOST_IF " && $r6 == "$LAB_UPLINK6 $LAB_HOST_IF " ]] ||
		{ printf 'host routes:\n%s\n%s\n' "$r4" "$r6"; return 1; }
}

names_ok()
{
	local ns n

	for ns in host vm c1 c2; do
		for n in $(lab_links "$ns"); do
			((${#n} <= 15)) || { echo "$n is too long"; return 1; }
			[[ $n == lo || $n == eth0 || $n == "$LAB_RUN"* ]] ||
				{ echo "$n in $ns lacks the run id"; return 1; }
		done
	done
}

bridge_port() # VETH BRIDGE (both in vm)
{
	local m

	m=$(ip -n "$LAB_VM_NS" -j link show dev "$1" | _lab_json '.[0].master' '[d[0].get("master")]')
	[[ $m == "$2" ]] || { echo "$1 has master $m, want $2"; return 1; }
}

root_ns_untouched() { ! ip -o link show | grep -F "$LAB_RUN"; }
pings_vm() { lab_ping "$1" "$2" && lab_ping "$1" "$LAB_VM_IP4"; }
in_ns() { lab_pid_in_ns "$1" "$2" || { echo "pid $1 is not in $2"; return 1; }; }

echo "# part 1: topology and reachability (plain namespaces)"
rc=0
(
	LAB_LEDGER_OUT=$tmp/ledger1
	lab_init
	lab_up
	lab_log "run $LAB_RUN, uplink $LAB_UPLINK4 and $LAB_UPLINK6"
	sub4=$(lab_subnet4 1)
	sub6=$(lab_subnet6 1)
	net=${sub4%.0/*}
	gw4=$net.1 c1=$net.10 c2=$net.11
	c1v6=${sub6%/*}10 c2v6=${sub6%/*}11
	lab_bridge_add br0 "$sub4" "$sub6"
	lab_container_add c1 br0 "$c1" "$c1v6"
	lab_container_add c2 br0 "$c2" "$c2v6"
	br=$(lab_bridge_if br0)

	lab_check "host has $LAB_HOST_IP4/24 on $LAB_HOST_IF" \
		lab_has_line "$LAB_HOST_IP4/24" < <(lab_addrs host "$LAB_HOST_IF")
	lab_check "host has $LAB_HOST_IP6/64" \
		lab_has_line "$LAB_HOST_IP6/64" < <(lab_addrs host "$LAB_HOST_IF")
	lab_check "vm has $LAB_VM_IP4/24 on $LAB_VM_IF" \
		lab_has_line "$LAB_VM_IP4/24" < <(lab_addrs vm "$LAB_VM_IF")
	lab_check "vm has $LAB_VM_IP6/64" \
		lab_has_line "$LAB_VM_IP6/64" < <(lab_addrs vm "$LAB_VM_IF")
	lab_check "vm's default route (IPv4) goes to the host" \
		lab_has_line "default $LAB_VM_IF $LAB_HOST_IP4" < <(lab_routes vm 4)
	lab_check "vm's default route (IPv6) goes to the host" \
		lab_has_line "default $LAB_VM_IF $LAB_HOST_IP6" < <(lab_routes vm 6)
	lab_check "host has only its uplink routes: no default, no container subnet" \
		host_routes_only_uplink
	lab_check "bridge $br holds the gateway $gw4/24" \
		lab_has_line "$gw4/24" < <(lab_addrs vm "$br")
	lab_check "c1's veth is a port of $br" bridge_port "$(lab_container_if c1)" "$br"
	lab_check "c1's default route goes to the bridge gateway" \
		lab_has_line "default eth0 $gw4" < <(lab_routes c1 4)
	lab_check "forwarding is on in vm" lab_sysctl_is vm net.ipv4.ip_forward 1
	lab_check "forwarding is off in host" lab_sysctl_is host net.ipv4.ip_forward 0
	lab_check "interface names carry the run id and fit in 15 chars" names_ok
	lab_check "no interface of the run appears in the root namespace" root_ns_untouched

	lab_check "vm reaches the host (IPv4 ping)" lab_ping vm "$LAB_HOST_IP4"
	lab_check "vm reaches the host (IPv6 ping)" lab_ping vm "$LAB_HOST_IP6"
	lab_check "host reaches the vm's uplink address" lab_ping host "$LAB_VM_IP4"
	lab_check "c1 reaches c2 (IPv4)" lab_ping c1 "$c2"
	lab_check "c1 reaches c2 (IPv6)" lab_ping c1 "$c2v6"
	lab_check "c1 reaches the vm (gateway and uplink address)" pings_vm c1 "$gw4"
	lab_check "vm reaches c2" lab_ping vm "$c2"

	mkdir "$LAB_DIR/www"
	echo "hello from c1" >"$LAB_DIR/www/index.html"
	lab_bg c1 "$LAB_DIR/httpd.log" busybox httpd -f -p 80 -h "$LAB_DIR/www" >/dev/null
	lab_check "c2 fetches c1's page over TCP" \
		lab_retry 3 lab_body_is "hello from c1" c2 "http://$c1/"
	lab_check "vm fetches c1's page" lab_body_is "hello from c1" vm "http://$c1/"

	lab_check_fail "host cannot ping c1 (IPv4)" lab_ping host "$c1"
	lab_check_fail "host cannot ping c1 (IPv6)" lab_ping host "$c1v6"
	lab_check_fail "host cannot fetch c1's page" lab_http host "http://$c1/" 2
	lab_check "host has no route to $c1 (ip route get: unreachable)" lab_no_route host "$c1"
	lab_check "host has no route to $c1v6" lab_no_route host "$c1v6"

	# The control: given a route, the same request succeeds, so the
	# failures above come from routing alone (there is no firewall here).
	ip -n "$LAB_HOST_NS" route add "$sub4" via "$LAB_VM_IP4"
	lab_check "with a route via the vm, host fetches c1's page" \
		lab_body_is "hello from c1" host "http://$c1/"
	ip -n "$LAB_HOST_NS" route del "$sub4" via "$LAB_VM_IP4"
	lab_check_fail "route removed: host cannot ping c1 again" lab_ping host "$c1"

	# Background processes: the pid comes back, lives in the namespace
	# asked for, and a test can kill -9 it.
	p1=$(lab_bg host "$LAB_DIR/p1.log" sleep 300)
	lab_check "lab_bg returns the pid of a process in host" in_ns "$p1" host
	lab_kill "$p1" KILL
	lab_check "lab_kill KILL ends it" lab_gone "$p1"
	# Left running for the cleanup: one recorded, one daemonized inside
	# vm that only the namespace sweep can find.
	lab_bg vm "$LAB_DIR/p2.log" sleep 300 >/dev/null
	lab_check "lab_bg sets LAB_BG_PID (process in vm)" in_ns "$LAB_BG_PID" vm
	lab_exec vm sh -c 'sleep 301 </dev/null >/dev/null 2>&1 &'
	lab_done
) || rc=$?

echo "# after part 1 (the subshell's exit trap has cleaned up)"
lab_reset_checks
_lab_report "$((rc == 0))" "part 1 passed (exit status $rc)" ""
lab_check_clean "no namespace, process, mount, file or link of part 1 remains" "$tmp/ledger1"

echo "# part 2: TERM to a running lab"
: >"$tmp/ready"
LAB_LEDGER_OUT=$tmp/ledger2 bash -c '
	set -euo pipefail
	. tests/lib/lab.sh
	lab_init
	lab_up
	lab_bridge_add br0 "$(lab_subnet4 2)"
	lab_container_add c1 br0 "$(lab_subnet4 2 | sed "s/0\/24$/10/")"
	lab_bg c1 /dev/null sleep 300 >/dev/null
	lab_bg host /dev/null sleep 300 >/dev/null
	echo "$LAB_RUN" >"$1"
	wait "$LAB_BG_PID"
' lab2 "$tmp/ready" &
lab2=$!
lab_check "second lab comes up" lab_retry 20 test -s "$tmp/ready"
run2=$(<"$tmp/ready")
lab_check "its namespaces exist while it runs" \
	lab_has_line "$run2-c1" < <(ip netns list | awk '{print $1}')
kill -TERM "$lab2"
rc2=0
wait "$lab2" || rc2=$?
_lab_report "$((rc2 == 143))" "TERM ends the lab with status 143 (got $rc2)" ""
lab_check_clean "after TERM nothing of $run2 remains" "$tmp/ledger2"

echo "# part 3: a lab whose shell dies by SIGKILL is reaped by the next run"
: >"$tmp/ready3"
bash -c '
	set -euo pipefail
	. tests/lib/lab.sh
	lab_init
	lab_up
	lab_bridge_add br0 "$(lab_subnet4 3)"
	lab_container_add c1 br0 "$(lab_subnet4 3 | sed "s/0\/24$/10/")"
	lab_bg c1 /dev/null sleep 300 >/dev/null
	lab_exec vm sh -c "sleep 302 </dev/null >/dev/null 2>&1 &"
	echo "$LAB_DIR" >"$1"
	wait "$LAB_BG_PID"
' lab3 "$tmp/ready3" &
lab3=$!
lab_check "third lab comes up" lab_retry 20 test -s "$tmp/ready3"
dir3=$(<"$tmp/ready3")
cp "$dir3/.lab/ledger" "$tmp/ledger3"
kill -KILL "$lab3"
wait "$lab3" 2>/dev/null || true
lab_check_fail "SIGKILL leaves the lab behind (no trap ran)" lab_leftovers "$tmp/ledger3"
lab_reap_stale
lab_check_clean "lab_reap_stale removed all of it" "$tmp/ledger3"
lab_done
