#!/usr/bin/env bash
# Integration: the firewall module against a real Docker engine that keeps
# its rules in iptables-legacy.
#
# dockerd runs with a PATH whose first directory maps iptables, ip6tables
# and their -save/-restore to the legacy programs (a wrapper in $LAB_DIR;
# the system's alternatives are left alone). The core scenarios of
# 40-firewall-docker.sh, on this flavour: detection, reachability (IPv4,
# IPv6, ICMP, two networks), SNAT, repair after a dockerd restart and after
# rules are flushed - legacy iptables has no change events, so this is the
# timer path with its table fingerprints - Docker 28's drops written by
# hand, kill -9 without duplicates, and a clean stop that leaves the rules
# as they were.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/docker.sh
. tests/lib/fw.sh

T0=$SECONDS
lab_init
lab_up
fw_tun_up
fw_legacy_dockerd
DOCKER_LAB_IPV6=1 docker_lab_start
lab_log "dockerd (iptables-legacy) up after $((SECONDS - T0)) s (run $LAB_RUN, tunnel $FW_TUN)"

docker_lab_network_create net1
fw_web web --restart always
fw_web web1 --network net1 --restart always
BR1=br-$(docker_lab network inspect -f '{{printf "%.12s" .Id}}' net1)
for s in $DOCKER_LAB_BRIDGE4 $DOCKER_LAB_BRIDGE6 \
	$(docker_lab network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' net1); do
	fw_route "$s"
done
FWARGS=(--bridge "$(fw_bridge_arg docker0)" --bridge "$(fw_bridge_arg "$BR1")")
addrs()
{
	WEB=$(docker_lab_ip web)
	WEB_6=$(docker_lab_ip6 web)
	WEB1=$(docker_lab_ip web1 net1)
}
addrs
GW0=${DOCKER_LAB_BRIDGE4%0/24}1
GW1=$(ip -n "$LAB_VM_NS" -4 -j addr show dev "$BR1" | jq -r '.[].addr_info[0].local')
lab_log "web $WEB $WEB_6, web1 $WEB1 ($BR1)"

page() { lab_body_is "hello from $1" host "$(fw_url "$2")" 2; }
# The negative: one second is plenty in the lab, where pages take milliseconds.
nopage() { lab_body_is "hello from $1" host "$(fw_url "$2")" 1; }
peer_is()
{
	local got
	got=$(fw_peer host "$(fw_url "$1" /cgi-bin/peer)") || { echo "no answer from $1"; return 1; }
	[[ $got == "$2" ]] || { echo "container saw $got, want $2"; return 1; }
}
count_is() { local n; n=$("$2"); [[ $n == "$1" ]] || { echo "$2: $n, want $1"; return 1; }; }
all_reachable() { page web "$WEB" && page web "$WEB_6" && page web1 "$WEB1"; }
ipt() { lab_exec vm iptables-legacy "$@"; }
ip6t() { lab_exec vm ip6tables-legacy "$@"; }

echo "# before gangway"
lab_check "Docker's rules are in iptables-legacy" ipt -S DOCKER-USER
lab_check_fail "... and not in nftables" lab_exec vm nft list chain ip filter DOCKER-USER
lab_check "the vm reaches web (the lab works)" lab_retry 10 lab_body_is "hello from web" vm "$(fw_url "$WEB")"
lab_check_fail "Docker drops host -> web" nopage web "$WEB"

echo "# gangway on"
fw_start "${FWARGS[@]}"
lab_check "mechanism: iptables-legacy" count_is iptables-legacy fw_mechanism
lab_check "web on docker0: page" lab_retry 2 page web "$WEB"
lab_check "web on docker0: ping" lab_ping host "$WEB"
lab_check "web on docker0: page over IPv6" page web "$WEB_6"
lab_check "web on docker0: ping over IPv6" lab_ping host "$WEB_6"
lab_check "web1 on net1: page" page web1 "$WEB1"
lab_check "SNAT: web sees docker0's gateway $GW0" peer_is "$WEB" "$GW0"
lab_check "SNAT: web1 sees net1's gateway $GW1" peer_is "$WEB1" "$GW1"
lab_check "ours are first in DOCKER-USER (legacy)" \
	bash -c "ip netns exec $LAB_VM_NS iptables-legacy -S DOCKER-USER | sed -n 2p | grep -q gangway:$FW_TUN"
lab_check_fail "none of ours in iptables-nft" \
	bash -c "ip netns exec $LAB_VM_NS iptables-nft-save | grep -q gangway:"

echo "# rules rewritten behind our back (no events: the timer notices)"
# The rule's return is timed apart from the page: a SYN dropped before
# the repair is only sent again after a second.
first_is_ours() { lab_exec vm "$1" -S "$2" | sed -n 2p | grep -q "gangway:$FW_TUN"; }
ipt -F DOCKER-USER
lab_check "iptables-legacy -F DOCKER-USER: ours first again $(fw_within 2 first_is_ours iptables-legacy DOCKER-USER || true)" \
	first_is_ours iptables-legacy DOCKER-USER
lab_check "... and web reachable" lab_retry 2 page web "$WEB"
ip6t -D FORWARD 1
ip6t -I FORWARD -j DOCKER-ISOLATION-STAGE-1
lab_check "ip6tables-legacy: one of ours deleted, Docker's jump first: ours first again $(fw_within 2 first_is_ours ip6tables-legacy FORWARD || true)" \
	first_is_ours ip6tables-legacy FORWARD
lab_check "... and web reachable over IPv6" lab_retry 2 page web "$WEB_6"
lab_exec vm nft delete table inet gangway
lab_check "nft delete table inet gangway: SNAT back $(fw_within 2 peer_is "$WEB" "$GW0" || true)" \
	peer_is "$WEB" "$GW0"
lab_check "fw_apply logged the repairs" bash -c "(( \$(grep -c '^repaired' $FW_LOG) >= 3 ))"

docker_lab_restart
lab_check "after the restart the containers run again" \
	lab_retry 20 lab_body_is "hello from web" vm "$(fw_url "$(docker_lab_ip web)")"
addrs
lab_check "dockerd restarted: all reachable again $(fw_within 2 all_reachable || true)" all_reachable

echo "# Docker 28's drops, by hand, in iptables-legacy"
docker28()
{
	ipt -t raw "$1" PREROUTING -d "$WEB/32" ! -i docker0 -j DROP
	ipt -t raw "$1" PREROUTING -d "$WEB1/32" ! -i "$BR1" -j DROP
	ip6t -t raw "$1" PREROUTING -d "$WEB_6/128" ! -i docker0 -j DROP
	ipt "$1" DOCKER ! -i docker0 -o docker0 -j DROP
	ipt "$1" DOCKER ! -i "$BR1" -o "$BR1" -j DROP
}
docker28 -A
lab_check "28.x drops appended: all reachable" lab_retry 2 all_reachable
ipt -t raw -I PREROUTING -d "$WEB1/32" ! -i "$BR1" -j DROP
lab_check "a drop inserted in front of ours: back $(fw_within 2 page web1 "$WEB1" || true)" \
	page web1 "$WEB1"
ipt -t raw -D PREROUTING -d "$WEB1/32" ! -i "$BR1" -j DROP
lab_check "ours are first in raw PREROUTING (legacy)" \
	bash -c "ip netns exec $LAB_VM_NS iptables-legacy -t raw -S PREROUTING | sed -n 2p | grep -q gangway:$FW_TUN"

echo "# crash and restart"
N=$(fw_count_ours)
lab_check "our rules are there ($N)" test "$N" -gt 5
fw_kill9
fw_start "${FWARGS[@]}"
lab_check "restarted after kill -9: $N rules, not twice as many" count_is "$N" fw_count_ours
lab_check "restarted: one table inet gangway" count_is 1 fw_count_tables
lab_check "restarted: all reachable" lab_retry 2 all_reachable
fw_stop
lab_check_fail "no gangway, 28.x drops: web1 blocked" nopage web1 "$WEB1"

echo "# a clean stop leaves Docker's rules as they were"
docker28 -D
fw_snapshot "$LAB_DIR/before"
fw_start "${FWARGS[@]}"
lab_check "running: all reachable" lab_retry 2 all_reachable
fw_stop
fw_snapshot "$LAB_DIR/after"
lab_check "iptables-legacy-save, ip6tables-legacy-save, nft list ruleset: identical (diff)" \
	diff -u "$LAB_DIR/before" "$LAB_DIR/after"
lab_check "nothing of ours is left" count_is 0 fw_count_ours
lab_log "total $((SECONDS - T0)) s"
lab_done
