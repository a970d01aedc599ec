#!/usr/bin/env bash
# End to end with a real Docker engine in the vm namespace: gangwayd there,
# gangway up in the host namespace. The host reaches containers by their IPs
# (unpublished TCP port and ICMP) on docker0 and two user networks, one of
# them IPv6; networks that come and go are routed and unrouted; Docker
# rewriting or flushing rules, and dockerd restarting, heal by themselves;
# kill -9 leaves no duplicates; a clean stop leaves the ruleset as it was.
#
# E2E_LEGACY=1: dockerd uses iptables-legacy. E2E_DOCKER282=1: Docker
# 28.2+'s per-container raw drops and 28.0's DOCKER drop are added by hand.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/fw.sh"

lab_init
lab_up
IPT=iptables IPT6=ip6tables IPTSAVE=iptables-save IPT6SAVE=ip6tables-save
if [[ ${E2E_LEGACY:-0} == 1 ]]; then
	fw_legacy_dockerd	# a dockerd whose PATH finds the legacy programs first
	IPT=iptables-legacy IPT6=ip6tables-legacy IPTSAVE=iptables-legacy-save IPT6SAVE=ip6tables-legacy-save
	echo "# dockerd uses iptables-legacy"
fi
vmx() { ip netns exec "$(lab_ns vm)" "$@"; }
ruleset() {	# everything, counters stripped
	{ vmx $IPTSAVE; vmx $IPT6SAVE; vmx nft list ruleset; } 2>/dev/null |
		sed -e 's/\[[0-9]*:[0-9]*\]//g' -e 's/packets [0-9]* bytes [0-9]*//g' -e '/^#/d'
}

DOCKER_LAB_IPV6=1 docker_lab_start
V6NET=$LAB_ULA48:e6::/64
docker_lab_network_create net1
docker_lab_network_create net6 --ipv6 --subnet "$V6NET"
docker_lab_run web0 --restart always
# web1 also tells who is asking (busybox httpd sets REMOTE_ADDR for CGI).
docker_lab_run web1 --restart always --network net1 -- sh -c \
	'mkdir -p /www/cgi-bin && echo "hello from web1" >/www/index.html &&
	 printf "#!/bin/sh\necho Content-Type: text/plain\necho\necho \$REMOTE_ADDR\n" >/www/cgi-bin/peer &&
	 chmod +x /www/cgi-bin/peer && exec httpd -f -p 80 -h /www'
docker_lab_run web6 --restart always --network net6
docker_lab network connect net1 web0
ips() {
	IP0=$(docker_lab_ip web0 bridge); IP0B=$(docker_lab_ip web0 net1)
	IP1=$(docker_lab_ip web1 net1); IP6=$(docker_lab_ip6 web6 net6)
}
ips
echo "# web0 $IP0 and $IP0B, web1 $IP1, web6 $IP6"
add_282_rules() {	# what Docker 28.2+ and 28.0 add, per container and bridge
	local ip br
	for c in web0 web1 web6; do
		for ip in $(docker_lab inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' $c); do
			br=$(vmx ip -j route get "$ip" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["dev"])')
			vmx $IPT -t raw -A PREROUTING -d "$ip/32" ! -i "$br" -j DROP
			vmx $IPT -C DOCKER ! -i "$br" -o "$br" -j DROP 2>/dev/null ||
				vmx $IPT -I DOCKER ! -i "$br" -o "$br" -j DROP
		done
	done
}
[[ ${E2E_DOCKER282:-0} == 1 ]] && { add_282_rules; echo "# Docker 28.2+ drop rules in place"; }

gw_keypair host
gw_keypair guest
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2 TH6=$LAB_ULA48:f0::1 TG6=$LAB_ULA48:f0::2
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
gw_host_conf host "$TH/24, $TH6/64" "$HOST_IF"
gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32, $TG6/128"
gw_guest_conf guest "$TG/24, $TG6/64" "$GUEST_IF" "$LAB_HOST_IP4:51820" "$TH/32, $TH6/128"
echo "StateDirectory = $LAB_DIR/gstate" >>"$LAB_DIR/guest.conf"
BEFORE=$(ruleset)
lab_check_fail "without gangway the host cannot reach web0" lab_exec host wget -q -T 2 -O - "http://$IP0/"
gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID

hroute() { ip -n "$(lab_ns host)" route show "$@" | grep -q "dev $HOST_IF"; }
hroute6() { ip -n "$(lab_ns host)" -6 route show "$@" | grep -q "dev $HOST_IF"; }
fetch() { lab_exec host wget -q -T 2 -O - "http://$1/" | grep -q "hello from $2"; }
lab_check "host routes docker0's subnet to the tunnel" gw_until 10 hroute "$DOCKER_LAB_BRIDGE4"
NET1=$(docker_lab network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' net1)
lab_check "host routes net1 to the tunnel" gw_until 5 hroute "$NET1"
lab_check "host routes net6 (IPv6) to the tunnel" gw_until 5 hroute6 "$V6NET"
lab_check "host fetches web0 on docker0 (unpublished port 80)" gw_until 5 fetch "$IP0" web0
lab_check "host pings web0" lab_exec host ping -c 2 -i 0.2 -W 2 "$IP0"
lab_check "host fetches web1 on net1" fetch "$IP1" web1
lab_check "host fetches web0 by its second address (net1)" fetch "$IP0B" web0
lab_check "host fetches web6 over IPv6" fetch "[$IP6]" web6
lab_check "host pings web6 over IPv6" lab_exec host ping -6 -c 2 -i 0.2 -W 2 "$IP6"
GW1=$(docker_lab network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' net1)
PEER=$(lab_exec host wget -q -T 2 -O - "http://$IP1/cgi-bin/peer" || true)
# busybox httpd writes IPv4 peers as [::ffff:a.b.c.d]
PEER=${PEER#[::ffff:}; PEER=${PEER%]}
echo "# web1 saw the request come from '$PEER' (net1's gateway is $GW1)"
lab_check "the container sees net1's gateway as the source (SNAT on by default)" test "$PEER" = "$GW1"
lab_check "gangway's filter rules are in place" bash -c "ip netns exec $(lab_ns vm) $IPTSAVE | grep -q 'gangway:$GUEST_IF'"

# A network and a container created now: reachable within 2 s of the start.
docker_lab_network_create net2
docker_lab_run web2 --network net2
IP2=$(docker_lab_ip web2 net2)
NET2=$(docker_lab network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' net2)
[[ ${E2E_DOCKER282:-0} == 1 ]] && add_282_rules 2>/dev/null || true
lab_check "a new network's container is reachable within 2 s" gw_until 2 fetch "$IP2" web2
docker_lab rm -f web2 >/dev/null
docker_lab network rm net2 >/dev/null
lab_check "the removed network's route leaves the host within 2 s" \
	gw_until 2 bash -c "! ip -n $(lab_ns host) route show $NET2 | grep -q $HOST_IF"

# Someone flushes gangway's rules: back within 2 s.
vmx $IPT -F DOCKER-USER
vmx $IPT -t raw -F PREROUTING
[[ ${E2E_DOCKER282:-0} == 1 ]] && add_282_rules 2>/dev/null || true
vmx nft delete table inet gangway 2>/dev/null || true
lab_check "after a flush of the rules, web1 is reachable again within 2 s" gw_until 2 fetch "$IP1" web1

# dockerd restarts and rewrites its chains.
docker_lab_restart
lab_retry 20 docker_lab inspect -f '{{.State.Running}}' web1 | grep -q true || true
ips
[[ ${E2E_DOCKER282:-0} == 1 ]] && add_282_rules 2>/dev/null || true
T0=$SECONDS
lab_check "after a dockerd restart, web1 is reachable again within 2 s" gw_until 2 fetch "$IP1" web1
lab_check "...and web0 on docker0" gw_until 2 fetch "$IP0" web0

# kill -9 and restart: no duplicate rules.
N1=$(ruleset | grep -c "gangway" || true)
kill -9 "$GUEST_PID"
gw_start_guest vm guest2 "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID
lab_check "after kill -9 and restart, web1 is reachable again" gw_until 10 fetch "$IP1" web1
sleep 1
N2=$(ruleset | grep -c "gangway" || true)
echo "# gangway rule lines before kill -9: $N1, after restart: $N2"
lab_check "no duplicate rules after kill -9 and restart" test "$N1" -eq "$N2"

# A clean stop removes everything gangway added, and nothing else.
lab_kill "$GUEST_PID" TERM
AFTER_STOP=$(ruleset)
lab_check "no gangway rule remains after a clean stop" bash -c "! grep -q gangway <<<\"\$0\"" "$AFTER_STOP"
gw_start_guest vm guest3 "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID
lab_check "running again, web1 is reachable" gw_until 10 fetch "$IP1" web1
lab_kill "$GUEST_PID" TERM
lab_check "start + clean stop leaves the ruleset exactly as it was" \
	diff <(echo "$AFTER_STOP") <(ruleset)
lab_check "host agent still runs" kill -0 "$HOST_PID"
lab_done
