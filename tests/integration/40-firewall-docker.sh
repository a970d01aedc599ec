#!/usr/bin/env bash
# Integration: the firewall module against a real Docker engine (Debian's
# dockerd 20.10, iptables-nft), with containers on docker0 and two user
# networks, one of them IPv6 (ip6tables).
#
# The tunnel is a veth whose vm end is named like one; the host routes the
# Docker subnets into it. Checked: Docker drops the host before gangway;
# afterwards the host reaches unpublished ports and ICMP by container
# address, over IPv4 and IPv6, on every network and on both addresses of a
# container with two networks; the container sees the bridge's gateway
# (SNAT) or, with --no-snat, the host. A new network works once fw_apply
# knows its bridge. Rules come back within 2 s after a dockerd restart, a
# flush of DOCKER-USER or raw PREROUTING, and a deletion of our table.
# Docker 28's extra drops (raw per container, DOCKER per bridge), written by
# hand exactly as 28.x writes them, are shown to block and then to be
# passed. A kill -9 and restart leaves no duplicate; a clean stop leaves
# iptables and nftables exactly as before.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/docker.sh
. tests/lib/fw.sh

T0=$SECONDS
lab_init
lab_up
fw_tun_up
DOCKER_LAB_IPV6=1 docker_lab_start
lab_log "dockerd up after $((SECONDS - T0)) s (run $LAB_RUN, tunnel $FW_TUN)"

NET6_V6=$LAB_ULA48:d1::/64
docker_lab_network_create net1
docker_lab_network_create net6 --ipv6 --subnet "$NET6_V6"
fw_web web --restart always
fw_web web1 --network net1 --restart always
fw_web web6 --network net6 --restart always
fw_web multi --network net1 --restart always
docker_lab network connect net6 multi

br_of() { printf 'br-%s\n' "$(docker_lab network inspect -f '{{printf "%.12s" .Id}}' "$1")"; }
subnets_of() { docker_lab network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "$1"; }
gw_of() # BRIDGE 4|6: the bridge's own global address
{
	ip -n "$LAB_VM_NS" "-$2" -j addr show dev "$1" scope global | jq -r '.[].addr_info[0].local'
}

BR1=$(br_of net1)
BR6=$(br_of net6)
for s in $DOCKER_LAB_BRIDGE4 $DOCKER_LAB_BRIDGE6 $(subnets_of net1) $(subnets_of net6); do
	fw_route "$s"
done
FWARGS=(--bridge "$(fw_bridge_arg docker0)" --bridge "$(fw_bridge_arg "$BR1")"
	--bridge "$(fw_bridge_arg "$BR6")")

addrs()
{
	WEB=$(docker_lab_ip web)
	WEB_6=$(docker_lab_ip6 web)
	WEB1=$(docker_lab_ip web1 net1)
	WEB6=$(docker_lab_ip web6 net6)
	WEB6_6=$(docker_lab_ip6 web6 net6)
	MULTI1=$(docker_lab_ip multi net1)
	MULTI6_6=$(docker_lab_ip6 multi net6)
}
addrs
GW0=$(gw_of docker0 4)
GW0_6=$(gw_of docker0 6)
GW1=$(gw_of "$BR1" 4)
GW6_6=$(gw_of "$BR6" 6)
lab_log "web $WEB $WEB_6, web1 $WEB1 ($BR1), web6 $WEB6 $WEB6_6 ($BR6), multi $MULTI1 $MULTI6_6"

page() { lab_body_is "hello from $1" host "$(fw_url "$2")" 2; }
# The negative: one second is plenty in the lab, where pages take milliseconds.
nopage() { lab_body_is "hello from $1" host "$(fw_url "$2")" 1; }
peer_is() # ADDR WANT
{
	local got
	got=$(fw_peer host "$(fw_url "$1" /cgi-bin/peer)") || { echo "no answer from $1"; return 1; }
	[[ $got == "$2" ]] || { echo "container saw $got, want $2"; return 1; }
}
count_is() { local n; n=$("$2"); [[ $n == "$1" ]] || { echo "$2: $n, want $1"; return 1; }; }
all_reachable()
{
	page web "$WEB" && page web "$WEB_6" && page web1 "$WEB1" && page web6 "$WEB6" &&
		page web6 "$WEB6_6" && page multi "$MULTI1" && page multi "$MULTI6_6"
}
ipt() { lab_exec vm iptables "$@"; }
ip6t() { lab_exec vm ip6tables "$@"; }

echo "# before gangway"
lab_check "the vm reaches web (the lab works)" lab_retry 10 lab_body_is "hello from web" vm "$(fw_url "$WEB")"
lab_check "the host routes web into the tunnel" lab_has_line "$FW_HOST_IF" < <(lab_route_dev host "$WEB")
lab_check_fail "Docker drops host -> web (IPv4)" nopage web "$WEB"
lab_check_fail "Docker drops host -> web (IPv6)" nopage web "$WEB_6"

echo "# gangway on"
fw_start "${FWARGS[@]}"
lab_check "mechanism: iptables-nft" count_is iptables-nft fw_mechanism
lab_check "web on docker0: page over IPv4" lab_retry 2 page web "$WEB"
lab_check "web on docker0: ping" lab_ping host "$WEB"
lab_check "web on docker0: page over IPv6" page web "$WEB_6"
lab_check "web on docker0: ping over IPv6" lab_ping host "$WEB_6"
lab_check "web1 on net1: page" page web1 "$WEB1"
lab_check "web1 on net1: ping" lab_ping host "$WEB1"
lab_check "web6 on net6: page over IPv4" page web6 "$WEB6"
lab_check "web6 on net6: page over IPv6 (ip6tables)" page web6 "$WEB6_6"
lab_check "web6 on net6: ping over IPv6" lab_ping host "$WEB6_6"
lab_check "multi answers on net1" page multi "$MULTI1"
lab_check "multi answers on net6 (IPv6)" page multi "$MULTI6_6"
lab_check "SNAT: web sees docker0's gateway $GW0" peer_is "$WEB" "$GW0"
lab_check "SNAT: web sees docker0's IPv6 gateway $GW0_6" peer_is "$WEB_6" "$GW0_6"
lab_check "SNAT: web1 sees net1's gateway $GW1" peer_is "$WEB1" "$GW1"
lab_check "SNAT: multi via net1 sees net1's gateway" peer_is "$MULTI1" "$GW1"
lab_check "SNAT: multi via net6 sees net6's gateway $GW6_6" peer_is "$MULTI6_6" "$GW6_6"
fw_stop

fw_start --no-snat "${FWARGS[@]}"
lab_check "--no-snat: web sees the host $FW_SRC4" lab_retry 2 peer_is "$WEB" "$FW_SRC4"
lab_check "--no-snat: web6 sees the host $FW_SRC6" peer_is "$WEB6_6" "$FW_SRC6"
multi_both() { page multi "$MULTI1" && page multi "$MULTI6_6"; }
lab_check "--no-snat: multi answers on both networks" multi_both
fw_stop

echo "# a network created while gangway runs"
fw_start "${FWARGS[@]}"
docker_lab_network_create net2
fw_web web2 --network net2
BR2=$(br_of net2)
for s in $(subnets_of net2); do fw_route "$s"; done
WEB2=$(docker_lab_ip web2 net2)
lab_check_fail "web2 on the new net2: not open yet" nopage web2 "$WEB2"
fw_stop
FWARGS+=(--bridge "$(fw_bridge_arg "$BR2")")
fw_start "${FWARGS[@]}"
lab_check "net2 passed to fw_apply: web2 reachable $(fw_within 2 page web2 "$WEB2" || true)" page web2 "$WEB2"

echo "# dockerd restarts"
docker_lab_restart
lab_check "after the restart the containers run again" \
	lab_retry 20 lab_body_is "hello from web" vm "$(fw_url "$(docker_lab_ip web)")"
addrs
lab_retry 20 lab_body_is "hello from web6" vm "$(fw_url "$WEB6_6")" >/dev/null || true
lab_check "dockerd restarted: all reachable again $(fw_within 2 all_reachable || true)" all_reachable
lab_check "... web1 too" page web1 "$WEB1"

echo "# rules removed behind our back"
before=$(fw_repairs)
ipt -F DOCKER-USER
lab_check "iptables -F DOCKER-USER: back $(fw_within 2 page web "$WEB" || true)" page web "$WEB"
# 20.10 has no DOCKER-USER for IPv6: ours sit at the top of FORWARD.
lab_check "IPv6: ours are at the top of FORWARD (no DOCKER-USER there)" \
	bash -c "ip netns exec $LAB_VM_NS ip6tables -S FORWARD | sed -n 2p | grep -q gangway:$FW_TUN"
ip6t -D FORWARD 1
ip6t -I FORWARD -j DOCKER-ISOLATION-STAGE-1
lab_check "ip6tables: one of ours deleted, Docker's jump first: back $(fw_within 2 page web6 "$WEB6_6" || true)" \
	page web6 "$WEB6_6"
ipt -t raw -F PREROUTING
lab_check "iptables -t raw -F PREROUTING: reachable $(fw_within 2 page web1 "$WEB1" || true)" page web1 "$WEB1"
lab_exec vm nft delete table inet gangway
lab_check "nft delete table inet gangway: SNAT back $(fw_within 2 peer_is "$WEB" "$GW0" || true)" \
	peer_is "$WEB" "$GW0"
lab_check "fw_apply logged each repair" \
	bash -c "(( \$(grep -c '^repaired' $FW_LOG) >= $before + 3 )) &&
		grep -q 'Docker rewrote its rules; restored' $FW_LOG"

echo "# Docker 28's drops, written by hand as 28.x writes them"
docker28()
{
	local op=$1
	ipt -t raw "$op" PREROUTING -d "$WEB/32" ! -i docker0 -j DROP
	ipt -t raw "$op" PREROUTING -d "$WEB1/32" ! -i "$BR1" -j DROP
	ipt -t raw "$op" PREROUTING -d "$MULTI1/32" ! -i "$BR1" -j DROP
	ipt -t raw "$op" PREROUTING -d "$WEB6/32" ! -i "$BR6" -j DROP
	ip6t -t raw "$op" PREROUTING -d "$WEB_6/128" ! -i docker0 -j DROP
	ip6t -t raw "$op" PREROUTING -d "$WEB6_6/128" ! -i "$BR6" -j DROP
	ip6t -t raw "$op" PREROUTING -d "$MULTI6_6/128" ! -i "$BR6" -j DROP
	ipt "$op" DOCKER ! -i docker0 -o docker0 -j DROP
	ipt "$op" DOCKER ! -i "$BR1" -o "$BR1" -j DROP
	ip6t "$op" DOCKER ! -i docker0 -o docker0 -j DROP
	ip6t "$op" DOCKER ! -i "$BR6" -o "$BR6" -j DROP
}
docker28 -A
lab_check "28.x drops appended: all still reachable" lab_retry 2 all_reachable
ipt -t raw -I PREROUTING -d "$WEB/32" ! -i docker0 -j DROP
lab_check "a drop inserted in front of ours: back $(fw_within 2 page web "$WEB" || true)" page web "$WEB"
ipt -t raw -D PREROUTING -d "$WEB/32" ! -i docker0 -j DROP
lab_check "ours are first in raw PREROUTING and DOCKER-USER" \
	bash -c "ip netns exec $LAB_VM_NS iptables -t raw -S PREROUTING | sed -n 2p | grep -q gangway:$FW_TUN &&
		ip netns exec $LAB_VM_NS iptables -S DOCKER-USER | sed -n 2p | grep -q gangway:$FW_TUN"
fw_stop
# Without gangway, a DOCKER-USER accept (what 20.10 needs) is not enough.
ipt -I DOCKER-USER -s "$FW_SRC4/32" -j ACCEPT
lab_check_fail "28.x raw drop blocks web despite a DOCKER-USER accept" nopage web "$WEB"
ipt -t raw -D PREROUTING -d "$WEB/32" ! -i docker0 -j DROP
ipt -D DOCKER ! -i docker0 -o docker0 -j DROP
lab_check "control: without 28.x's two drops that accept is enough" page web "$WEB"
ipt -t raw -A PREROUTING -d "$WEB/32" ! -i docker0 -j DROP
ipt -A DOCKER ! -i docker0 -o docker0 -j DROP
ipt -D DOCKER-USER -s "$FW_SRC4/32" -j ACCEPT
lab_check_fail "no gangway, 28.x drops: web1 blocked" nopage web1 "$WEB1"
fw_start "${FWARGS[@]}"
lab_check "gangway with 28.x drops: all reachable" lab_retry 2 all_reachable
lab_check "... with SNAT" peer_is "$WEB1" "$GW1"

echo "# crash and restart"
N=$(fw_count_ours)
lab_check "our rules are there ($N)" test "$N" -gt 10
fw_kill9
lab_check "killed with -9: its rules stay" count_is "$N" fw_count_ours
fw_start "${FWARGS[@]}"
lab_check "restarted: $N rules, not twice as many" count_is "$N" fw_count_ours
lab_check "restarted: one table inet gangway" count_is 1 fw_count_tables
lab_check "restarted: all reachable" lab_retry 2 all_reachable
fw_stop

echo "# a clean stop leaves Docker's rules as they were"
docker28 -D
fw_snapshot "$LAB_DIR/before"
fw_start "${FWARGS[@]}"
lab_check "running: all reachable" lab_retry 2 all_reachable
fw_stop
fw_snapshot "$LAB_DIR/after"
lab_check "iptables-save, ip6tables-save, nft list ruleset: identical (diff)" \
	diff -u "$LAB_DIR/before" "$LAB_DIR/after"
lab_check "nothing of ours is left" count_is 0 fw_count_ours
lab_check_fail "stopped: Docker drops host -> web again" nopage web "$WEB"
lab_log "total $((SECONDS - T0)) s"
lab_done
