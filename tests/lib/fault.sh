# fault.sh - health checks for the fault-matrix tests (bash library, after gw.sh)
#
#   fault_fds PID / fault_rss PID   open fds / resident set in KiB of PID
#   fault_baseline PID...           remember both for each PID (after start)
#   fault_stable FDSLACK RSSKB PID...
#                                   lab_check for each PID: alive, fd count at
#                                   most baseline + FDSLACK, RSS at most
#                                   baseline + RSSKB; prints the measurements
#   fault_status NS CONF            `gangway status -j` of the daemon of CONF
#   fault_drops NS CONF REASON...   sum of those drop reasons over all peers
#                                   and the device
#   fault_pair_up_ka                gw_pair_up with PersistentKeepalive = 1
#   fault_init_pair                 the pair as `gangway init` writes it, in
#                                   $LAB_DIR/gangway.conf and gangwayd.conf,
#                                   with container c1 ($C1) on bridge docker0
#                                   ($N1), keepalive 1 s; sets HOST_IF GUEST_IF

declare -A FAULT_FD0 FAULT_RSS0

fault_fds()
{
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

fault_rss()
{
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

fault_baseline()
{
	local p
	for p in "$@"; do
		FAULT_FD0[$p]=$(fault_fds "$p")
		FAULT_RSS0[$p]=$(fault_rss "$p")
		echo "# baseline pid $p: ${FAULT_FD0[$p]} fds, ${FAULT_RSS0[$p]} KiB RSS"
	done
}

fault_stable()
{
	local fdslack=$1 rssslack=$2 p fd rss
	shift 2
	for p in "$@"; do
		lab_check "pid $p is alive" kill -0 "$p"
		fd=$(fault_fds "$p")
		rss=$(fault_rss "$p")
		echo "# pid $p: $fd fds (baseline ${FAULT_FD0[$p]}), $rss KiB RSS (baseline ${FAULT_RSS0[$p]})"
		lab_check "pid $p: fd count $fd <= ${FAULT_FD0[$p]} + $fdslack" \
			test "${fd:-999999}" -le $((FAULT_FD0[$p] + fdslack))
		lab_check "pid $p: RSS $rss KiB <= ${FAULT_RSS0[$p]} + $rssslack KiB" \
			test "${rss:-999999999}" -le $((FAULT_RSS0[$p] + rssslack))
	done
}

fault_status()
{
	lab_exec "$1" "$GW_GANGWAY" status -j -c "$2"
}

fault_drops()
{
	local ns=$1 conf=$2 filter r
	shift 2
	filter=0
	for r in "$@"; do
		filter="$filter + ([.peers[].drops[\"$r\"] // 0] | add // 0) + (.device_drops[\"$r\"] // 0)"
	done
	fault_status "$ns" "$conf" | jq "$filter"
}

fault_pair_up_ka()
{
	gw_pair_up
	sed -i 's/^PersistentKeepalive = .*/PersistentKeepalive = 1/' "$LAB_DIR/guest.conf"
}

fault_init_pair()
{
	N1=$(lab_subnet4 1)
	C1=${N1%.0/24}.2
	lab_bridge_add docker0 "$N1"
	lab_container_add c1 docker0 "$C1"
	"$GW_GANGWAY" init -d "$LAB_DIR" -e "$LAB_HOST_IP4" -p 51820 \
		-n "10.200.$LAB_OCTET.0/24" >/dev/null
	HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
	printf '\n[Gangway]\nInterface = %s\nStateDirectory = %s/state\n' \
		"$HOST_IF" "$LAB_DIR" >>"$LAB_DIR/gangway.conf"
	printf '\n[Gangway]\nInterface = %s\nStateDirectory = %s/gstate\nBridges = %sb*\n' \
		"$GUEST_IF" "$LAB_DIR" "$LAB_RUN" >>"$LAB_DIR/gangwayd.conf"
	# A keepalive every second, so that a moved guest is found at once.
	sed -i 's/^PersistentKeepalive = .*/PersistentKeepalive = 1/' "$LAB_DIR/gangwayd.conf"
	grep -q '^PersistentKeepalive = 1' "$LAB_DIR/gangwayd.conf"
}

# The kernel here has no sch_netem, so link faults come from an nftables
# netdev egress chain (loss, duplication, corruption of one byte of the UDP
# payload past the WireGuard header) and an htb qdisc whose slow class holds
# back a random share of the datagrams, so they leave after later ones
# (reordering).
#   fault_impair NS DEV LOSS% DUP% CORRUPT‰ REORDER%   (UDP only)
#   fault_unimpair NS DEV
fault_impair()
{
	local ns=$1 dev=$2 loss=$3 dup=$4 corrupt=$5 reorder=$6
	lab_exec "$ns" tc qdisc add dev "$dev" root handle 1: htb default 10 r2q 100000
	lab_exec "$ns" tc class add dev "$dev" parent 1: classid 1:10 htb rate 10gbit
	lab_exec "$ns" tc class add dev "$dev" parent 1: classid 1:20 htb rate 40mbit ceil 40mbit burst 2k
	lab_exec "$ns" tc qdisc add dev "$dev" parent 1:20 handle 20: pfifo limit 1000
	lab_exec "$ns" nft -f - <<NFT
table netdev ${LAB_RUN}fault {
	chain eg {
		type filter hook egress device "$dev" priority 0;
		meta l4proto udp numgen random mod 100 < $loss drop
		meta l4proto udp numgen random mod 100 < $dup dup to "$dev"
		meta l4proto udp numgen random mod 1000 < $corrupt @ih,128,8 set 0x55
		meta l4proto udp numgen random mod 100 < $reorder meta priority set 1:20
	}
}
NFT
}

fault_unimpair()
{
	lab_exec "$1" nft delete table netdev "${LAB_RUN}fault" 2>/dev/null || true
	lab_exec "$1" tc qdisc del dev "$2" root 2>/dev/null || true
}

# Datagrams the slow (reordering) class has sent on DEV.
fault_reordered()
{
	lab_exec "$1" tc -s class show dev "$2" classid 1:20 | awk '/Sent/ {print $4; exit}'
}
