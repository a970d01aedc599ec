#!/usr/bin/env bash
# Container names with a real Docker engine: gangwayd in the vm namespace
# follows the engine and answers DNS for *.gangway.internal on its tunnel
# address; the host namespace resolves through its resolver (resolv.conf
# pointing at that address, as `gangway up` would have systemd-resolved do
# for the domain) and fetches http://web.gangway.internal/. Names follow
# starts, removals and renames within 1 s; Compose and user labels; A and
# AAAA; PTR; REFUSED outside the domain; nothing answers elsewhere; names
# come back after an engine restart; without an engine socket, one warning
# and routing goes on.
#
# E2E_LEGACY=1: dockerd uses iptables-legacy (the lab's second engine setup).
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/fw.sh"

command -v drill >/dev/null || { echo "SKIP: drill (ldnsutils) missing"; exit 77; }
lab_init
lab_up
if [[ ${E2E_LEGACY:-0} == 1 ]]; then
	fw_legacy_dockerd
	echo "# dockerd uses iptables-legacy"
fi
D=gangway.internal

DOCKER_LAB_IPV6=1 docker_lab_start
V6NET=$LAB_ULA48:e7::/64
docker_lab_network_create net6 --ipv6 --subnet "$V6NET"
docker_lab_run web --restart always
docker_lab_run dual --restart always --network net6
docker_lab_run proj-api-1 --restart always \
	--label com.docker.compose.service=api --label com.docker.compose.project=proj \
	--label "dev.gangway.domains=shop, admin.$D"

gw_keypair host
gw_keypair guest
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2 TH6=$LAB_ULA48:f0::1 TG6=$LAB_ULA48:f0::2
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
gw_host_conf host "$TH/24, $TH6/64" "$HOST_IF"
gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32, $TG6/128"
gw_guest_conf guest "$TG/24, $TG6/64" "$GUEST_IF" "$LAB_HOST_IP4:51820" "$TH/32, $TH6/128"
printf 'StateDirectory = %s\nDockerSocket = %s\n' "$LAB_DIR/gstate" "$DOCKER_LAB_SOCK" \
	>>"$LAB_DIR/guest.conf"
gw_start_host host host "$LAB_DIR/host.conf"
gw_start_guest vm guest "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID

# The host namespace's resolver asks the guest's tunnel address: ip netns
# exec bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf.
NSDIR=/etc/netns/$(lab_ns host)
mkdir -p "$NSDIR"
lab_on_cleanup rm -rf "$NSDIR"
printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$TG" >"$NSDIR/resolv.conf"

# drill from the host namespace: the answers' data (-Q), or the rcode.
ans() { lab_exec host drill -Q "@$1" "$2" "${3:-A}" 2>/dev/null | sort; }
rcode() { lab_exec host drill "@$1" "$2" "${3:-A}" 2>/dev/null | sed -n 's/.*rcode: \([A-Z]*\).*/\1/p'; }
resolves_to() { ans "$TG" "$1.$D" "${3:-A}" | grep -qxF "$2"; }
nx() { [[ $(rcode "$TG" "$1.$D") == NXDOMAIN ]]; }
fetch() { lab_exec host wget -q -T 2 -O - "http://$1/" | grep -q "hello from $2"; }
# Milliseconds until CMD succeeds (polling every 20 ms), or 99999.
ms_until() {
	local t0 t
	t0=$(date +%s%N)
	while (( ($(date +%s%N) - t0) / 1000000 < 5000 )); do
		if "$@"; then
			t=$(( ($(date +%s%N) - t0) / 1000000 ))
			echo "$t"
			return 0
		fi
		sleep 0.02
	done
	echo 99999
}

IPW=$(docker_lab_ip web bridge)
IPD4=$(docker_lab_ip dual net6) IPD6=$(docker_lab_ip6 dual net6)
IPA=$(docker_lab_ip proj-api-1 bridge)
echo "# web $IPW, dual $IPD4 $IPD6, proj-api-1 $IPA"
lab_check "host routes docker0 to the tunnel" gw_until 10 \
	bash -c "ip -n $(lab_ns host) route show $DOCKER_LAB_BRIDGE4 | grep -q $HOST_IF"
lab_check "web.$D answers web's address" gw_until 5 resolves_to web "$IPW"
lab_check "getent resolves web.$D through the host's resolver" bash -c \
	"ip netns exec $(lab_ns host) getent ahostsv4 web.$D | grep -q '^$IPW '"
lab_check "the host fetches http://web.$D/" fetch "web.$D" web
lab_check "Compose name api.proj.$D" resolves_to api.proj "$IPA"
lab_check "user label name shop.$D" resolves_to shop "$IPA"
lab_check "user label name given with the domain (admin.$D)" resolves_to admin "$IPA"
lab_check "the container's own name proj-api-1.$D" resolves_to proj-api-1 "$IPA"
lab_check "dual-stack: A" resolves_to dual "$IPD4"
lab_check "dual-stack: AAAA" resolves_to dual "$IPD6" AAAA
lab_check "PTR of web's address" bash -c \
	"ip netns exec $(lab_ns host) drill -Q @$TG -x $IPW | grep -q 'web\.$D\.'"
lab_check "an unknown name in the domain is NXDOMAIN" nx nosuch
lab_check "a name outside the domain is REFUSED" test "$(rcode "$TG" example.com)" = REFUSED
lab_check "the DNS server answers over IPv6 too" test "$(ans "$TG6" "web.$D")" = "$IPW"
lab_check "and over TCP" bash -c \
	"ip netns exec $(lab_ns host) drill -t -Q @$TG web.$D A | grep -q '$IPW'"
# Only the tunnel's addresses: the vm's other address gets no answer, and
# the listening sockets name those two addresses alone.
lab_check_fail "nothing answers on the vm's own LAN address" \
	bash -c "ip netns exec $(lab_ns host) timeout 3 drill @$LAB_VM_IP4 web.$D | grep -q rcode"
SOCKS=$(ip netns exec "$(lab_ns vm)" ss -Hlntu 'sport = :53' | awk '{print $5}' | sort -u | tr '\n' ' ')
echo "# port 53 sockets in the vm: $SOCKS"
lab_check "port 53 is bound to the tunnel addresses only" \
	test "$SOCKS" = "$TG:53 [$TG6]:53 "

# Live: started, removed, renamed.
docker_lab_run web2
IP2=$(docker_lab_ip web2 bridge)
T=$(ms_until resolves_to web2 "$IP2")
echo "# a started container resolved after $T ms"
lab_check "a container started now resolves within 1 s" test "$T" -lt 1000
docker_lab rename web2 web3
T=$(ms_until resolves_to web3 "$IP2")
echo "# a renamed container resolved under its new name after $T ms"
lab_check "a rename is followed within 1 s" test "$T" -lt 1000
lab_check "...and the old name is gone" nx web2
docker_lab rm -f web3 >/dev/null
T=$(ms_until nx web3)
echo "# a removed container was NXDOMAIN after $T ms"
lab_check "a removed container is NXDOMAIN within 1 s" test "$T" -lt 1000
docker_lab network connect net6 web
lab_check "a network connected later adds its address" gw_until 2 \
	bash -c "[[ \$(ip netns exec $(lab_ns host) drill -Q @$TG web.$D AAAA) == *$LAB_ULA48:e7:* ]]"

# The status and the list.
lab_check "gangway status shows the names served" bash -c \
	"'$GW_GANGWAY' status --socket '$LAB_DIR/gstate/$GUEST_IF.sock' | grep -q 'names: [0-9]* served under $D'"
lab_check "gangway names lists web.$D -> $IPW" bash -c \
	"'$GW_GANGWAY' names --socket '$LAB_DIR/gstate/$GUEST_IF.sock' | grep -q '^web\.$D  *$IPW\$'"

doctor_addr() {
	ip netns exec "$(lab_ns host)" "$GW_GANGWAY" doctor -c "$LAB_DIR/host.conf" "web.$D" |
		sed -n "s/^ok   web\.$D resolves to //p"
}
DA=$(doctor_addr)
echo "# gangway doctor web.$D: resolves to '$DA'"
lab_check "gangway doctor NAME resolves the name first (to one of web's addresses)" \
	bash -c "[[ -n '$DA' ]] && { ip netns exec $(lab_ns host) drill -Q @$TG web.$D A; ip netns exec $(lab_ns host) drill -Q @$TG web.$D AAAA; } | grep -qxF '$DA'"
lab_check "gangway doctor says when a name does not resolve" bash -c \
	"ip netns exec $(lab_ns host) '$GW_GANGWAY' doctor -c '$LAB_DIR/host.conf' nosuch.$D | grep -q 'FAIL nosuch\.$D does not resolve'"
# No systemd-resolved in the lab: gangway up says what to configure instead.
lab_check "without systemd-resolved, gangway up says what to add" \
	grep -q "resolvectl dns $HOST_IF $TG; resolvectl domain $HOST_IF ~$D" "$LAB_DIR/host.log"

# The engine restarts: names come back (the containers restart with it).
docker_lab_restart
lab_retry 20 docker_lab inspect -f '{{.State.Running}}' web | grep -q true || true
IPW=$(docker_lab_ip web bridge)
lab_check "after an engine restart web.$D resolves again" gw_until 20 resolves_to web "$IPW"
lab_check "...and the host fetches it by name" gw_until 5 fetch "web.$D" web

# No engine socket: one clear warning; routing goes on.
lab_kill "$GUEST_PID" TERM
sed -i "s|^DockerSocket = .*|DockerSocket = $LAB_DIR/no-such.sock|" "$LAB_DIR/guest.conf"
gw_start_guest vm guest-nosock "$LAB_DIR/guest.conf"
lab_check "without a socket, a clear warning" \
	gw_wait_log "$LAB_DIR/guest-nosock.log" "No Docker engine socket at $LAB_DIR/no-such.sock" 10
lab_check "...and routing still works (web by address)" gw_until 10 fetch "$IPW" web
lab_check "...while names are NXDOMAIN" gw_until 5 nx web
sleep 2
N=$(grep -c "No Docker engine socket" "$LAB_DIR/guest-nosock.log" || true)
lab_check "the warning is given once, not on every retry ($N)" test "$N" -eq 1
lab_done
