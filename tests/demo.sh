#!/usr/bin/env bash
# demo.sh - what gangway is for, shown in a lab of namespaces with real Docker
#
# Runs as root (make demo).  It builds a "host" (your Mac) and a "vm" (the
# Docker VM) out of network namespaces, starts Debian's dockerd inside the vm
# with one container serving a web page, and shows who can reach it.  Every
# namespace, process and file goes away when the script ends.
#
# The steps are functions, run in order by main: demo_lab, demo_problem,
# demo_tunnel, demo_end.  demo_tunnel is where the tunnel joins the story.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.sh
. tests/lib/docker.sh
. tests/lib/gw.sh

if [[ -t 1 ]]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B='' G='' R='' N=''
fi

say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
tell() { printf '   %s\n' "$*"; }
good() { printf '   %s%s%s\n' "$G" "$*" "$N"; }
bad() { printf '   %s%s%s\n' "$R" "$*" "$N"; }

# Show a command as typed in namespace NS, then its output, indented.
show()
{
	local ns=$1 rc=0 out
	shift
	printf '   %s[%s]$ %s%s\n' "$B" "$ns" "$*" "$N"
	out=$(lab_exec "$ns" "$@" 2>&1) || rc=$?
	[[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/     /'
	return "$rc"
}

# The demo only states what it has just seen; if the lab does not behave as
# described, it stops and says so.
broken()
{
	bad "The lab does not behave as expected: $*"
	exit 1
}

demo_lab()
{
	say "Building the lab"
	lab_init
	lab_up
	tell "Namespace '$LAB_HOST_NS' plays your Mac:    $LAB_HOST_IP4"
	tell "Namespace '$LAB_VM_NS' plays the Docker VM: $LAB_VM_IP4"
	tell "The VM can reach the Mac (like host.docker.internal); the Mac has"
	tell "no route into the VM's container networks, as with Docker Desktop."
	if [[ -x /usr/sbin/dockerd ]]; then
		tell "Starting dockerd inside the VM (Debian's docker.io)..."
		docker_lab_start
		docker_lab_run web
		CIP=$(docker_lab_ip web)
		docker_lab_network_create backend
		docker_lab_run api --network backend -- sh -c \
			"echo 'hello from api' >/www/index.html && exec httpd -f -p 8080 -h /www"
		CIP2=$(docker_lab_ip api backend)
		tell "Container 'web' serves port 80 at $CIP (docker0, $DOCKER_LAB_BRIDGE4)."
		tell "Container 'api' serves port 8080 at $CIP2 (user network 'backend')."
	else
		bad "docker.io is not installed here: the containers are plain namespaces"
		bad "on two Linux bridges named like Docker's (docker0, br-demo)."
		demo_ns_containers
	fi
	tell "Neither port is published."
}

# Without Docker: two namespaces on two bridges, each serving HTTP.
demo_ns_containers()
{
	local n1 n2
	n1=$(lab_subnet4 1) n2=$(lab_subnet4 2)
	lab_bridge_add docker0 "$n1"
	lab_bridge_add br-demo "$n2"
	# The lab names its bridges <run>b<N>; tell gangwayd to watch those.
	DEMO_BRIDGES="${LAB_RUN}b*"
	CIP=${n1%.0/24}.2 CIP2=${n2%.0/24}.2
	lab_container_add web docker0 "$CIP"
	lab_container_add api br-demo "$CIP2"
	mkdir -p "$LAB_DIR/www-web" "$LAB_DIR/www-api"
	echo "hello from web" >"$LAB_DIR/www-web/index.html"
	echo "hello from api" >"$LAB_DIR/www-api/index.html"
	lab_bg web "$LAB_DIR/web.log" busybox httpd -f -p 80 -h "$LAB_DIR/www-web" >/dev/null
	lab_bg api "$LAB_DIR/api.log" busybox httpd -f -p 8080 -h "$LAB_DIR/www-api" >/dev/null
	tell "'web' serves port 80 at $CIP, 'api' serves port 8080 at $CIP2."
}

demo_problem()
{
	say "Inside the VM, the container answers"
	lab_retry 10 lab_http vm "http://$CIP/" >/dev/null 2>&1 ||
		broken "the VM cannot fetch http://$CIP/"
	show vm busybox wget -q -O - "http://$CIP/" || broken "the VM cannot fetch http://$CIP/"
	good "The VM reaches the container: that is where Docker put it."

	say "From the Mac, it does not"
	if show host ip route get "$CIP"; then
		broken "the host has a route to $CIP"
	fi
	if show host timeout 3 busybox wget -q -O - "http://$CIP/"; then
		broken "the host reached $CIP without a tunnel"
	fi
	bad "The Mac cannot reach $CIP: it has no route to the container network."
	tell "Even with a route, Docker's firewall in the VM drops connections"
	tell "that come from outside its bridges:"
	show vm iptables -S FORWARD
	tell "This is the problem gangway solves: a WireGuard tunnel from the Mac"
	tell "into the VM, routes for the container networks on the Mac, and the"
	tell "firewall openings in the VM that let exactly that traffic in."
}

demo_tunnel()
{
	local ok=1 TH=10.33.$LAB_OCTET.1 TG=10.33.$LAB_OCTET.2

	say "Starting gangway"
	gw_keypair host
	gw_keypair guest
	gw_host_conf host "$TH/24" "gangway$LAB_OCTET"
	gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32"
	gw_guest_conf guest "$TG/24" "gangway$LAB_OCTET" "$LAB_HOST_IP4:51820" "$TH/32"
	echo "StateDirectory = $LAB_DIR/gstate" >>"$LAB_DIR/guest.conf"
	[ -z "${DOCKER_LAB_SOCK:-}" ] || echo "DockerSocket = $DOCKER_LAB_SOCK" >>"$LAB_DIR/guest.conf"
	[ -z "${DEMO_BRIDGES:-}" ] || echo "Bridges = $DEMO_BRIDGES" >>"$LAB_DIR/guest.conf"
	tell "On the Mac:  gangway up -c host.conf   (listens on UDP 51820)"
	gw_start_host host host "$LAB_DIR/host.conf"
	tell "In the VM:   gangwayd -c guest.conf   (dials the Mac, finds Docker's networks)"
	gw_start_guest vm guest "$LAB_DIR/guest.conf"
	gw_until 15 bash -c "ip -n $LAB_HOST_NS route get $CIP2 2>/dev/null | grep -q 'dev gangway$LAB_OCTET'" ||
		broken "the host never got a route to $CIP2 (see $LAB_DIR/*.log)"

	say "The Mac now routes the container networks into the tunnel"
	show host ip route show dev "gangway$LAB_OCTET" || true
	tell "Nothing was configured by hand: the VM advertised what it found."

	say "From the Mac, by container IP"
	if gw_until 10 lab_http host "http://$CIP/" 2 >/dev/null &&
	   show host timeout 3 busybox wget -q -O - "http://$CIP/"; then
		good "Fetched http://$CIP/ (web, docker0) from the Mac."
	else
		bad "Could not fetch http://$CIP/"; ok=0
	fi
	if show host timeout 3 busybox wget -q -O - "http://$CIP2:8080/"; then
		good "Fetched http://$CIP2:8080/ (api, network 'backend') from the Mac."
	else
		bad "Could not fetch http://$CIP2:8080/"; ok=0
	fi
	if show host ping -c 3 -i 0.2 -W 2 "$CIP2"; then
		good "Pinged $CIP2."
	else
		bad "Could not ping $CIP2"; ok=0
	fi

	[ -z "${DOCKER_LAB_SOCK:-}" ] || demo_names "$TG" || ok=0

	say "What gangway says about it"
	show host "$GW_GANGWAY" status -c "$LAB_DIR/host.conf" || { bad "gangway status failed"; ok=0; }

	say "What the daemons logged"
	grep -hE "Handshake|Route to|Docker networks|Firewall mechanism|acknowledged" \
		"$LAB_DIR/host.log" "$LAB_DIR/guest.log" | sed 's/^/     /' | head -20
	((ok)) || broken "some requests from the Mac failed"
}

# By name: the Mac's resolver sends gangway.internal to the guest's DNS
# server (what gangway up has systemd-resolved or /etc/resolver do; the
# lab's namespace gets it as its resolv.conf, which ip netns exec mounts).
demo_names()
{
	local tg=$1 ns_etc=/etc/netns/$LAB_HOST_NS

	say "From the Mac, by container name"
	mkdir -p "$ns_etc"
	lab_on_cleanup rm -rf "$ns_etc"
	printf 'nameserver %s\n' "$tg" >"$ns_etc/resolv.conf"
	tell "gangwayd follows the Docker engine and answers *.gangway.internal on $tg."
	if gw_until 10 bash -c "ip netns exec $LAB_HOST_NS getent hosts web.gangway.internal >/dev/null" &&
	   show host curl -s -m 3 http://web.gangway.internal/ &&
	   show host curl -s -m 3 http://api.gangway.internal:8080/; then
		good "Fetched http://web.gangway.internal/ and http://api.gangway.internal:8080/ by name."
	else
		bad "Could not fetch the containers by name"
		return 1
	fi
	show vm "$GW_GANGWAY" names --socket "$LAB_DIR/gstate/gangway$LAB_OCTET.sock" || true
}

demo_end()
{
	say "Done"
	good "The Mac reached both containers by their own IP addresses${DOCKER_LAB_SOCK:+ and by name}."
	tell "Leaving: gangway, dockerd, the containers and the namespaces are removed."
}

main()
{
	demo_lab
	demo_problem
	demo_tunnel
	demo_end
}

main "$@"
