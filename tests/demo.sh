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
	tell "Starting dockerd inside the VM (Debian's docker.io)..."
	docker_lab_start
	docker_lab_run web
	CIP=$(docker_lab_ip web)
	tell "Container 'web' runs a web server at $CIP (network $DOCKER_LAB_BRIDGE4)."
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
	say "The tunnel"
	# Arrives with the tunnel: start build/gangwayd in vm, `build/gangway
	# up` in host, wait for the handshake, then fetch http://$CIP/ from
	# host and show the page.
	tell "This part of the demo arrives with the tunnel: gangwayd will start"
	tell "in the VM, 'gangway up' on the Mac, and the same request from the"
	tell "Mac will then get the page that only the VM can fetch today."
}

demo_end()
{
	say "Done"
	tell "Leaving: dockerd, the containers and the namespaces are removed."
}

main()
{
	demo_lab
	demo_problem
	demo_tunnel
	demo_end
}

main "$@"
