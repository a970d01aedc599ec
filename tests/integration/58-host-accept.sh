#!/usr/bin/env bash
# The host agent's accept policy, with two guests of gangway's own: a
# guest's word never takes the host's LAN, its router or its own address,
# a VPN's routes (policy tables and broader routes included), the tunnel's
# subnet or another guest's addresses; a wide static AllowedIPs does not
# widen what may be advertised. Then the host changes under the agent: a
# route that appears later withdraws the prefix it collides with and is
# reported once; our route deleted by someone is put back.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
gw_vm_add vm2 1 c2
gw_keypair guest2
TG2=10.200.$LAB_OCTET.3
H=$(lab_ns host)
LATE=$(lab_subnet4 8) LATE2=$(lab_subnet4 9)

# The host's LAN 192.0.2.0/24 (router .1, the host .2), a VPN's routes in
# policy table 100 and a broader 172.16.0.0/12 through the LAN's router.
ip -n "$H" link add lan0 type veth peer name lan0p
ip -n "$H" link set lan0p up
ip -n "$H" addr add 192.0.2.2/24 dev lan0
ip -n "$H" link set lan0 up
ip -n "$H" route add 172.20.0.0/16 dev lan0 table 100
ip -n "$H" route add 172.16.0.0/12 via 192.0.2.1
V6=fd99:$LAB_OCTET
ip -n "$H" -6 route add "$V6:0:1::/64" dev lan0 table 100

# Guest A's peer has a wide static AllowedIPs (0.0.0.0/0), guest B the
# tunnel address 10.200.X.3 and its container network.
sed -i "s|^AllowedIPs = $TG/32, $NET\$|AllowedIPs = $TG/32, $NET, 0.0.0.0/0|" "$LAB_DIR/host.conf"
gw_conf_peer "$LAB_DIR/host.conf" guest2 "$TG2/32, $GW_VM_NET"
# ...and a Remap target of its own, which B has not advertised (yet).
RTGT=$(lab_subnet4 12)
echo "Remap = $(lab_subnet4 13)=$RTGT" >>"$LAB_DIR/host.conf"
gw_guest_conf guest2 "$TG2/24" "gwg2$LAB_OCTET" "$GW_VM_HOST_IP:51820" "$TH/32"
# Guest A advertises its bridges and, besides, what is not its own.
printf 'Bridges = %sb*\nIncludePrefixes = 192.0.2.0/25, 192.0.2.1/32, 192.0.2.2/32, 172.20.0.0/16, 172.17.0.0/16, 0.0.0.0/1, 198.51.100.7/32, %s, %s, %s::/48\n' \
	"$LAB_RUN" "$GW_VM_NET" "$RTGT" "$V6" >>"$LAB_DIR/guest.conf"
gw_pair_start
gw_start_guest vm2 guest2 "$LAB_DIR/guest2.conf"
GUEST2_PID=$GW_PID

hroute() { ip -n "$H" route show "$1" dev "$HOST_IF" 2>/dev/null | grep -q .; }
routed_by_us() { ip -n "$H" route show table all "$1" | grep -q "dev $HOST_IF"; }
not_routed_by_us() { ! routed_by_us "$1"; }
st() { "$GW_GANGWAY" status -c "$LAB_DIR/host.conf"; }
refused() { st | grep -qxF "  prefix $1 refused ($2)"; }
lab_check "both guests completed a handshake" \
	lab_retry 15 bash -c "[ \$(grep -c 'Handshake with peer' '$LAB_DIR/host.log') -ge 2 ]"
lab_check "guest A's own network is learnt" gw_until 10 hroute "$NET"
lab_check "192.0.2.0/25 (inside the LAN) is refused" gw_until 5 refused 192.0.2.0/25 "not allowed"
for p in 192.0.2.0/25 192.0.2.1/32 192.0.2.2/32 0.0.0.0/1 198.51.100.7/32; do
	lab_check "$p is not routed through the tunnel" not_routed_by_us "$p"
done
lab_check "a public /32 is refused despite AllowedIPs 0.0.0.0/0" refused 198.51.100.7/32 "not allowed"
lab_check "0.0.0.0/1 is refused despite AllowedIPs 0.0.0.0/0" refused 0.0.0.0/1 "not allowed"
lab_check "a VPN's network in policy table 100 is refused" refused 172.20.0.0/16 "shadowed by a host route"
lab_check "an IPv6 network over a VPN's policy-table route is refused" refused "$V6::/48" "shadowed by a host route"
lab_check "a network under a broader host route is refused" refused 172.17.0.0/16 "shadowed by a host route"
lab_check_fail "...and neither is routed by us" bash -c \
	"ip -n $H route show table all | grep -E '^172\.(20|17)\.0\.0/16 .*dev $HOST_IF'"
lab_check "guest B's network, advertised by A, is refused" refused "$GW_VM_NET" conflict
lab_check "B's Remap target, advertised by A, is refused" refused "$RTGT" conflict
lab_check_fail "...and not routed by us" routed_by_us "$RTGT"
lab_check "the host logs each refusal once" bash -c \
	"[ \$(grep -c 'Guest prefix 172.20.0.0/16 refused' '$LAB_DIR/host.log') -eq 1 ]"

# Guest A claims guest B's tunnel address through a bridge, then drops it.
ip -n "$(lab_ns vm)" link add name "${LAB_RUN}b77" type bridge
ip -n "$(lab_ns vm)" addr add "$TG2/32" dev "${LAB_RUN}b77"
ip -n "$(lab_ns vm)" link set "${LAB_RUN}b77" up
lab_check "A's claim on B's tunnel address is refused" gw_until 5 refused "$TG2/32" conflict
lab_check "B's tunnel address still reaches B" lab_exec host ping -c 2 -i 0.2 -W 2 "$TG2"
lab_check "B's container network still reaches B" lab_exec host ping -c 2 -i 0.2 -W 2 "$GW_VM_CIP"
ip -n "$(lab_ns vm)" link del "${LAB_RUN}b77"
lab_check "A's withdrawal is seen" gw_until 5 bash -c "! st | grep -qF '$TG2/32'"
lab_check "after A's withdrawal B's tunnel address still reaches B" \
	lab_exec host ping -c 2 -i 0.2 -W 2 "$TG2"
lab_check "...and its container network" lab_exec host ping -c 2 -i 0.2 -W 2 "$GW_VM_CIP"
lab_check "...through the tunnel" bash -c "ip -n $H route show $GW_VM_NET | grep -q 'dev $HOST_IF'"

# Narrower AcceptPrefixes: the LAN's addresses, allowed now, still collide.
sed -i "s|^AllowedIPs = $TG/32, $NET, 0.0.0.0/0\$|&\nAcceptPrefixes = 192.0.2.0/24, 10.0.0.0/8, 172.16.0.0/12|" \
	"$LAB_DIR/host.conf"
lab_check "the host config with AcceptPrefixes is valid" "$GW_GANGWAY" up --check -c "$LAB_DIR/host.conf"
kill -HUP "$HOST_PID"
lab_check "the reload is applied" gw_wait_log "$LAB_DIR/host.log" "Configuration reloaded" 10
lab_check "192.0.2.0/25 is shadowed by the LAN" gw_until 10 refused 192.0.2.0/25 "shadowed by a host route"
lab_check "192.0.2.1/32 (the router) is shadowed" refused 192.0.2.1/32 "shadowed by a host route"
lab_check "192.0.2.2/32 (the host) is shadowed" refused 192.0.2.2/32 "shadowed by a host route"
lab_check "198.51.100.7/32 stays outside AcceptPrefixes" refused 198.51.100.7/32 "not allowed"

# A route that appears later (a VPN connecting) takes precedence.
ip -n "$(lab_ns vm)" link add name "${LAB_RUN}b78" type bridge
ip -n "$(lab_ns vm)" addr add "${LATE%.0/24}.1/24" dev "${LAB_RUN}b78"
ip -n "$(lab_ns vm)" link set "${LAB_RUN}b78" up
ip -n "$(lab_ns vm)" link add name "${LAB_RUN}b79" type bridge
ip -n "$(lab_ns vm)" addr add "${LATE2%.0/24}.1/24" dev "${LAB_RUN}b79"
ip -n "$(lab_ns vm)" link set "${LAB_RUN}b79" up
lab_check "a new network is learnt" gw_until 5 hroute "$LATE"
lab_check "and another" gw_until 5 hroute "$LATE2"
ip -n "$H" route add "${LATE%.0/24}.0/25" dev lan0 table 200
lab_check "a VPN route over it withdraws it within 2 s" gw_until 2 not_routed_by_us "$LATE"
lab_check "status reports it" refused "$LATE" "shadowed by a host route"
lab_check "the guest hears why" gw_wait_log "$LAB_DIR/guest.log" "The host did not route $LATE: shadowed by a host route" 5
ip -n "$H" route add "$LATE2" dev lan0 metric 5
lab_check "a route of someone else for the same prefix withdraws ours" gw_until 2 not_routed_by_us "$LATE2"
lab_check "...and that route is left alone" bash -c "ip -n $H route show $LATE2 | grep -q 'dev lan0'"
# A reload makes the guests advertise again: no second report.
ADV=$(grep -c 'Advertisement .* from a guest' "$LAB_DIR/host.log")
kill -HUP "$HOST_PID"
lab_check "the second reload is applied" gw_until 10 bash -c \
	"[ \$(grep -c 'Configuration reloaded' '$LAB_DIR/host.log') -ge 2 ]"
lab_check "the guests advertised again after the reload" gw_until 10 bash -c \
	"[ \$(grep -c 'Advertisement .* from a guest' '$LAB_DIR/host.log') -ge $((ADV + 2)) ]"
lab_check "the withdrawal is logged once" bash -c \
	"[ \$(grep -c 'Guest prefix $LATE withdrawn' '$LAB_DIR/host.log') -eq 1 ] &&
	 [ \$(grep -c 'Guest prefix $LATE ' '$LAB_DIR/host.log') -eq 1 ]"
lab_check "...still refused" refused "$LATE" "shadowed by a host route"

# Our route deleted by someone: put back at once (the route watch's event,
# not a periodic check). Timed in milliseconds from the deletion.
restored_within_ms()	# MS
{
	local t0 ms
	t0=$(date +%s%N)
	ip -n "$H" route del "$NET" dev "$HOST_IF"
	while ! hroute "$NET"; do
		ms=$((($(date +%s%N) - t0) / 1000000))
		((ms < 3000)) || break
		sleep 0.01
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "# restored after $ms ms"
	hroute "$NET" && ((ms < $1))
}
lab_check "a deleted route of ours is restored within 1 s" restored_within_ms 1000
lab_check "...and reported" gw_wait_log "$LAB_DIR/host.log" "Route to $NET through $HOST_IF was removed by someone else: restored" 2
lab_check "guest A's container answers" lab_exec host ping -c 2 -i 0.2 -W 2 "$CIP"

# Cost: one reading of the host's routes per advertisement at most.
lab_check "one route reading per advertisement" bash -c \
	"a=\$(grep -c 'Advertisement .* from a guest' '$LAB_DIR/host.log');
	 r=\$(grep -c 'routes and addresses for an advertisement' '$LAB_DIR/host.log');
	 echo \"\$a adverts, \$r reads\"; [ \$r -ge 1 ] && [ \$r -le \$a ]"

# A guest that floods: its networks flap 60 times as fast as they can; the
# host limits it, says so once, and still ends where the guest ends.
FLAP=$(lab_subnet4 10)
ip -n "$(lab_ns vm)" link add name "${LAB_RUN}b80" type bridge
ip -n "$(lab_ns vm)" link set "${LAB_RUN}b80" up
for i in $(seq 60); do
	ip -n "$(lab_ns vm)" addr add "${FLAP%.0/24}.1/24" dev "${LAB_RUN}b80"
	ip -n "$(lab_ns vm)" addr del "${FLAP%.0/24}.1/24" dev "${LAB_RUN}b80"
done
ip -n "$(lab_ns vm)" addr add "${FLAP%.0/24}.1/24" dev "${LAB_RUN}b80"
lab_check "the host limits a flooding guest" gw_wait_log "$LAB_DIR/host.log" "sends control messages faster than 4 a second" 10
lab_check "...and says so once" bash -c \
	"[ \$(grep -c 'sends control messages faster than' '$LAB_DIR/host.log') -eq 1 ]"
lab_check "the guest's last set is routed in the end" gw_until 10 hroute "$FLAP"
lab_check "...and counts what it dropped as control-rate-limited, per peer" bash -c \
	"'$GW_GANGWAY' status --json -c '$LAB_DIR/host.conf' |
	 jq -e '[.peers[].drops[\"control-rate-limited\"]] | add > 0'"
lab_check "all three daemons run" kill -0 "$HOST_PID" "$GUEST_PID" "$GUEST2_PID"
lab_done
