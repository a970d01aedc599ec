#!/usr/bin/env bash
# Two VMs whose containers sit on the same subnet: the second guest's prefix
# is refused as a conflict; after the host maps it to another prefix (Remap=
# in its configuration, applied by SIGHUP), the host reaches the second VM's
# container through the remapped address while the first stays reachable,
# and the container sees the traffic as its own subnet's. With 40 IPv6
# networks remapped too, more than one ACK message can carry, the remaps
# that fit are made, the rest are refused as such, and the guest is still
# acknowledged (its ACK is never one that cannot be sent).
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
fetch() { lab_http host "http://$1/" 2 | grep -q "hello from $2"; }
# The first guest holds the prefix before the second one asks for it.
gw_start_guest vm g1 "$LAB_DIR/g1.conf"
lab_check "the first guest's container is reachable" gw_until 15 fetch "$C" c1
gw_start_guest vm2 g2 "$LAB_DIR/g2.conf"
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

# 40 IPv6 networks in VM 2, routed as they are; then the host remaps
# every one of them: 40 remaps take 40 x 18 bytes more than the ACK's
# room once its plain entries are in.
for i in $(seq 1 40); do
	g=$(lab_subnet6 $((100 + i)))
	ip -n "$V2" link add name "${LAB_RUN}b6$i" type bridge
	ip -n "$V2" addr add "${g%::/64}::1/64" dev "${LAB_RUN}b6$i" nodad
	ip -n "$V2" link set "${LAB_RUN}b6$i" up
done
acks() { grep -c 'The host acknowledged 41 prefix(es)' "$LAB_DIR/g2.log" || true; }
acks_above() { [ "$(acks)" -gt "$1" ]; }
lab_check "the guest's 41 prefixes are acknowledged" gw_until 10 acks_above 0
before=$(acks)
remaps="Remap = $SAME=$MAPPED"
for i in $(seq 1 40); do
	remaps+=", $(lab_subnet6 $((100 + i)))=$(lab_subnet6 $((200 + i)))"
done
host_conf "$remaps"
kill -HUP "$HOST_PID"
lab_check "...and again with 40 of them remapped (an ACK that is sent)" \
	gw_until 10 acks_above "$before"
# Distinct lines: the guest logs its remaps again with each ACK.
v6_remaps() { grep -o "The host reaches $LAB_ULA48:.* as $LAB_ULA48:.*" "$LAB_DIR/g2.log" | sort -u | wc -l; }
no_room() { grep -c "does not fit in the acknowledgement" "$LAB_DIR/host.log" || true; }
some_fit() { local n; n=$(v6_remaps); echo "$n remapped"; [ "$n" -ge 10 ]; }
rest_refused() {
	local r f
	r=$(v6_remaps) f=$(no_room)
	echo "$r remapped + $f refused"
	[ "$f" -ge 1 ] && [ $((r + f)) = 40 ]
}
lab_check "some IPv6 remaps fit and were made" some_fit
lab_check "the rest are refused as not fitting, each reported once, none lost" rest_refused
lab_check "...and the guest is told they were not routed" \
	gw_wait_log "$LAB_DIR/g2.log" "did not route $LAB_ULA48:" 5
lab_check "the IPv4 remap still holds: VM 2's container as $CMAPPED" fetch "$CMAPPED" c2
lab_done
