#!/usr/bin/env bash
# Integration: a real Docker engine in the lab's vm namespace.
#
# Part 1 starts Debian's dockerd inside vm, runs busybox containers serving
# HTTP, checks that the vm reaches them and the host does not - with no
# route, and with a route but Docker's FORWARD policy in the way - and that
# a DOCKER-USER accept then lets the host in (the control that shows the
# lab is right).  Part 2 SIGKILLs the shell of a lab with a running engine,
# so no trap runs, then crashes the engine (kill -9) with a container still
# running; lab_reap_stale must clean up.  After each part, nothing of the run
# may remain: no dockerd, containerd, shim or container process,
# namespace, mount, cgroup or socket.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/docker.sh

tmp=$(mktemp -d /tmp/gw-lab11.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

engine_in_vm()
{
	lab_pid_in_ns "$DOCKER_LAB_PID" vm || { echo "dockerd is not in vm's netns"; return 1; }
	[[ $(tr '\0' ' ' <"/proc/$DOCKER_LAB_PID/cmdline") == *"$LAB_DIR"* ]] ||
		{ echo "dockerd does not use $LAB_DIR"; return 1; }
}

forward_policy_drop()
{
	local p
	p=$(lab_exec vm iptables -S FORWARD | head -n 1)
	[[ $p == "-P FORWARD DROP" ]] || { echo "vm: $p"; return 1; }
}

docker_user_jump()
{
	lab_exec vm iptables -S FORWARD | lab_has_line "-A FORWARD -j DOCKER-USER"
}

no_docker_chain_in_host() { ! lab_exec host iptables -S DOCKER 2>/dev/null; }

restarted() # OLD-PID
{
	lab_gone "$1" || return 1
	[[ $DOCKER_LAB_PID != "$1" ]] || { echo "same pid $1"; return 1; }
	engine_in_vm
}

in_subnet()
{
	lab_ip_in "$1" "$2" || { echo "$2 is not in $1"; return 1; }
}

echo "# part 1: engine, containers, reachability"
rc=0
(
	LAB_LEDGER_OUT=$tmp/ledger1
	lab_init
	lab_up
	lab_log "run $LAB_RUN in $LAB_DIR"
	SECONDS=0
	DOCKER_LAB_IPV6=1 docker_lab_start
	lab_log "dockerd answered after ${SECONDS}s"

	lab_check "dockerd runs in vm's namespace, state under \$LAB_DIR" engine_in_vm
	lab_check "docker0 exists in vm with $DOCKER_LAB_BRIDGE4" \
		lab_has_line "${DOCKER_LAB_BRIDGE4%0/24}1/24" < <(lab_addrs vm docker0)
	lab_check "dockerd set FORWARD policy DROP in vm" forward_policy_drop
	lab_check "FORWARD jumps to DOCKER-USER in vm" docker_user_jump
	lab_check "Docker's rules stay out of the host namespace" no_docker_chain_in_host
	lab_check "the lab image is there" docker_lab image inspect "$DOCKER_LAB_IMAGE"

	docker_lab_run web
	docker_lab_network_create gwnet
	docker_lab_run web2 --network gwnet
	ip=$(docker_lab_ip web)
	ip6=$(docker_lab_ip6 web)
	ip2=$(docker_lab_ip web2 gwnet)
	lab_log "web $ip $ip6, web2 $ip2"
	lab_check "web's address is on docker0's subnet" in_subnet "$DOCKER_LAB_BRIDGE4" "$ip"
	lab_check "gwnet took its subnet from the run's pool" in_subnet "$DOCKER_LAB_POOL4" "$ip2"
	lab_check "docker_lab_subnets lists docker0's subnets" \
		lab_has_line "$DOCKER_LAB_BRIDGE6" < <(docker_lab_subnets)

	lab_check "vm fetches web's page (IPv4)" \
		lab_retry 10 lab_body_is "hello from web" vm "http://$ip/"
	lab_check "vm fetches web's page (IPv6)" \
		lab_retry 5 lab_body_is "hello from web" vm "http://[$ip6]/"
	lab_check "vm fetches web2's page on a user network" \
		lab_retry 10 lab_body_is "hello from web2" vm "http://$ip2/"
	lab_check "vm pings web" lab_ping vm "$ip"

	# Containers reach the host the way host.docker.internal does: out
	# through the vm's default route, masqueraded.
	mkdir "$LAB_DIR/hostwww"
	echo "hello from host" >"$LAB_DIR/hostwww/index.html"
	lab_bg host "$LAB_DIR/hosthttpd.log" busybox httpd -f -p "$LAB_HOST_IP4:8080" \
		-h "$LAB_DIR/hostwww" >/dev/null
	lab_check "a container fetches a page from the host" \
		lab_retry 3 docker_lab exec web timeout 3 wget -q -O - "http://$LAB_HOST_IP4:8080/"

	lab_check_fail "host cannot ping web" lab_ping host "$ip"
	lab_check_fail "host cannot fetch web's page" lab_http host "http://$ip/" 2
	lab_check_fail "host cannot fetch web's page over IPv6" lab_http host "http://[$ip6]/" 2
	lab_check "host has no route to web (ip route get: unreachable)" lab_no_route host "$ip"
	lab_check "host has no route to web's IPv6 address" lab_no_route host "$ip6"

	# The controls.  A route alone is not enough: Docker drops new
	# connections from outside its bridges.  An accept in DOCKER-USER
	# (what the guest daemon must arrange) lets them through.
	ip -n "$LAB_HOST_NS" route add "$DOCKER_LAB_BRIDGE4" via "$LAB_VM_IP4"
	lab_check_fail "with a route, Docker's firewall still drops host -> web" \
		lab_http host "http://$ip/" 2
	lab_exec vm iptables -I DOCKER-USER -s "$LAB_HOST_IP4" -j ACCEPT
	lab_check "with a route and a DOCKER-USER accept, host fetches web's page" \
		lab_body_is "hello from web" host "http://$ip/"
	lab_exec vm iptables -D DOCKER-USER -s "$LAB_HOST_IP4" -j ACCEPT
	ip -n "$LAB_HOST_NS" route del "$DOCKER_LAB_BRIDGE4" via "$LAB_VM_IP4"
	lab_check_fail "both removed: host cannot ping web" lab_ping host "$ip"

	# The same for IPv6.  Engine 20.10 has no DOCKER-USER chain in
	# ip6tables, so the accept goes first in FORWARD itself.
	ip -n "$LAB_HOST_NS" -6 route add "$DOCKER_LAB_BRIDGE6" via "$LAB_VM_IP6"
	lab_check_fail "with an IPv6 route, Docker's ip6tables policy still drops host -> web" \
		lab_http host "http://[$ip6]/" 2
	lab_exec vm ip6tables -I FORWARD -s "$LAB_HOST_IP6" -j ACCEPT
	lab_check "with the route and an ip6tables accept, host fetches web's page over IPv6" \
		lab_body_is "hello from web" host "http://[$ip6]/"
	lab_exec vm ip6tables -D FORWARD -s "$LAB_HOST_IP6" -j ACCEPT
	ip -n "$LAB_HOST_NS" -6 route del "$DOCKER_LAB_BRIDGE6" via "$LAB_VM_IP6"

	# A restart as a real engine does it; the restart policy brings web3 back.
	docker_lab_run web3 --restart always
	old=$DOCKER_LAB_PID
	docker_lab_restart
	lab_check "docker_lab_restart runs a new dockerd in vm" restarted "$old"
	ip3=$(lab_retry 10 docker_lab_ip web3)
	lab_check "web3 (restart always) serves again after the restart" \
		lab_retry 10 lab_body_is "hello from web3" vm "http://$ip3/"
	lab_done
) || rc=$?

echo "# after part 1 (the subshell's exit trap has cleaned up)"
lab_reset_checks
_lab_report "$((rc == 0))" "part 1 passed (exit status $rc)" ""
lab_check_clean "no dockerd, containerd, shim, container, netns, mount, cgroup or socket of part 1 remains" \
	"$tmp/ledger1"

echo "# part 2: the test's shell and then dockerd die by SIGKILL"
: >"$tmp/ready2"
bash -c '
	set -euo pipefail
	. tests/lib/lab.sh
	. tests/lib/docker.sh
	lab_init
	lab_up
	docker_lab_start
	docker_lab_run sleeper -- sleep 300
	id=$(docker_lab inspect -f "{{.Id}}" sleeper)
	ctr=$(docker_lab inspect -f "{{.State.Pid}}" sleeper)
	lab_bg host /dev/null sleep 300 >/dev/null
	echo "$LAB_DIR $DOCKER_LAB_PID $ctr $(docker_lab_shim_socket "$id")" >"$1"
	wait "$LAB_BG_PID"
' lab2 "$tmp/ready2" >"$tmp/lab2.log" 2>&1 &
lab2=$!
lab_check "second lab with an engine comes up" lab_retry 40 test -s "$tmp/ready2"
read -r dir2 dockerd2 ctr2 sock2 <"$tmp/ready2"
cp "$dir2/.lab/ledger" "$tmp/ledger2"
kill -KILL "$lab2"
wait "$lab2" 2>/dev/null || true
lab_check "its dockerd runs on with no shell to stop it" kill -0 "$dockerd2"
kill -KILL "$dockerd2"
lab_check "the container process outlives the crashed dockerd" kill -0 "$ctr2"
lab_check "the container's shim socket exists" test -S "$sock2"
lab_reap_stale
lab_check_clean "lab_reap_stale removed all of it: containerd, shim, namespaces, mounts, cgroups" \
	"$tmp/ledger2"
lab_check "the container process is gone" lab_gone "$ctr2"
lab_check_fail "the shim socket is gone" test -e "$sock2"
lab_done
