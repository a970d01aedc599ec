#!/usr/bin/env bash
# Two VMs whose containers sit on the same subnet: the second guest's prefix
# is refused as a conflict; after the host maps it to another prefix (Remap=
# in its configuration, applied by SIGHUP), the host reaches the second VM's
# container through the remapped address while the first stays reachable,
# and the container sees the traffic as its own subnet's.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
SAME=$(lab_subnet4 50)
MAPPED=$(lab_subnet4 99)
lab_bridge_add docker0 "$SAME"
lab_container_add c1 docker0 "${SAME%.0/24}.2"
C=${SAME%.0/24}.2 CMAPPED=${MAPPED%.0/24}.2

# vm2: its own uplink to the host and a bridge with the very same subnet.
gw_vm_add vm2 1 c2unused
V2=$(lab_ns vm2)
ip -n "$V2" link add name "${LAB_RUN}b99" type bridge
ip -n "$V2" addr add "${SAME%.0/24}.1/24" dev "${LAB_RUN}b99"
ip -n "$V2" link set "${LAB_RUN}b99" up
lab_ns_add c2
ip link add name eth0 netns "$(lab_ns c2)" type veth peer name c2p netns "$V2"
ip -n "$V2" link set c2p master "${LAB_RUN}b99" up
ip -n "$(lab_ns c2)" addr add "$C/24" dev eth0
ip -n "$(lab_ns c2)" link set eth0 up
ip -n "$(lab_ns c2)" route add default via "${SAME%.0/24}.1"
# Each container answers with its own name.
mkdir -p "$LAB_DIR/www1" "$LAB_DIR/www2"
echo "hello from c1" >"$LAB_DIR/www1/index.html"
echo "hello from c2" >"$LAB_DIR/www2/index.html"
lab_bg c1 "$LAB_DIR/h1.log" busybox httpd -f -p 80 -h "$LAB_DIR/www1" >/dev/null
lab_bg c2 "$LAB_DIR/h2.log" busybox httpd -f -p 80 -h "$LAB_DIR/www2" >/dev/null

gw_keypair host; gw_keypair g1; gw_keypair g2
TH=10.200.$LAB_OCTET.1 T1=10.200.$LAB_OCTET.2 T2=10.200.$LAB_OCTET.3
HOST_IF=gwh$LAB_OCTET
host_conf() {	# $1: extra line for the second peer
	gw_conf "$LAB_DIR/host.conf" <<CONF
[Interface]
PrivateKey = $(cat "$LAB_DIR/host.key")
Address = $TH/24
ListenPort = 51820
[Peer]
PublicKey = $(cat "$LAB_DIR/g1.pub")
AllowedIPs = $T1/32
[Peer]
PublicKey = $(cat "$LAB_DIR/g2.pub")
AllowedIPs = $T2/32
$1
[Gangway]
Interface = $HOST_IF
StateDirectory = $LAB_DIR/state
CONF
}
guest_conf() {	# name, address, endpoint
	gw_conf "$LAB_DIR/$1.conf" <<CONF
[Interface]
PrivateKey = $(cat "$LAB_DIR/$1.key")
Address = $2/24
[Peer]
PublicKey = $(cat "$LAB_DIR/host.pub")
Endpoint = $3:51820
AllowedIPs = $TH/32
PersistentKeepalive = 25
[Gangway]
Interface = gw$1$LAB_OCTET
StateDirectory = $LAB_DIR/$1-state
Bridges = ${LAB_RUN}b*
CONF
}
host_conf ""
guest_conf g1 "$T1" "$LAB_HOST_IP4"
guest_conf g2 "$T2" "$GW_VM_HOST_IP"
gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
gw_start_guest vm g1 "$LAB_DIR/g1.conf"
gw_start_guest vm2 g2 "$LAB_DIR/g2.conf"
fetch() { lab_http host "http://$1/" 2 | grep -q "hello from $2"; }

lab_check "the first guest's container is reachable" gw_until 10 fetch "$C" c1
lab_check "the second guest's identical prefix is refused as a conflict" \
	gw_wait_log "$LAB_DIR/g2.log" "did not route $SAME: conflict" 10
lab_check "the host says so too" gw_wait_log "$LAB_DIR/host.log" "$SAME refused: conflict" 5

# Map the second VM's network to another prefix on the host, and reload.
host_conf "Remap = $SAME=$MAPPED"
kill -HUP "$HOST_PID"
lab_check "after SIGHUP the host routes the remapped prefix" \
	gw_until 5 bash -c "ip -n $(lab_ns host) route show $MAPPED | grep -q $HOST_IF"
lab_check "the second guest learns its remap" gw_wait_log "$LAB_DIR/g2.log" "reaches $SAME as $MAPPED" 5
lab_check "the host reaches VM 2's container as $CMAPPED" gw_until 5 fetch "$CMAPPED" c2
lab_check "...and still VM 1's container as $C" fetch "$C" c1
lab_check "ping through the remap" lab_exec host ping -c 2 -i 0.2 -W 2 "$CMAPPED"
lab_check "VM 2's translation rule is gangway's own" \
	bash -c "ip netns exec $V2 nft list table inet gangway | grep -q 'dnat ip prefix to $SAME'"
lab_done
