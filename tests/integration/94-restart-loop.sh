#!/usr/bin/env bash
# Restart loop: kill -9 and restart the host agent RESTARTS times (50 by
# default), then the guest daemon as often, each killed as soon as its
# device exists (half way through its setup, some of the time). Afterwards:
# no leftover or duplicate devices, routes or firewall rules in either
# namespace (the same counts as after the first start), no stray
# processes, and traffic works.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/fault.sh"

RESTARTS=${RESTARTS:-50}
lab_init
lab_up
fault_init_pair
H=$(lab_ns host) V=$(lab_ns vm)
gw_start_host host host "$LAB_DIR/gangway.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/gangwayd.conf"
GUEST_PID=$GW_PID
reach() { lab_exec host ping -c 1 -W 1 "$C1" >/dev/null; }
has_route() { ip -n "$H" route show dev "$HOST_IF" proto static | grep -q "^$N1 "; }
lab_check "the host reaches the container" gw_until 15 reach

# Everything countable in a namespace, one line per item, sorted.
inventory()	# NS
{
	local n
	n=$(lab_ns "$1")
	{
		ip -n "$n" -j link show | jq -r '.[] | "link \(.ifname)"'
		ip -n "$n" -j -4 route show table all | jq -r '.[] | "route4 \(.dst) \(.dev // "") \(.table // "main")"'
		# A new tun device gets a new random link-local address.
		ip -n "$n" -j -6 route show table all | jq -r '.[] | "route6 \(.dst) \(.dev // "") \(.table // "main")"' |
			sed 's/ fe80::[0-9a-f:]* / fe80::LL /'
		ip -n "$n" -j rule show | jq -r '.[] | "rule \(.priority) \(.table // "")"'
		{ ip netns exec "$n" nft list ruleset | grep -v '^\s*$' || true; } | sed 's/^/nft /'
		ip netns exec "$n" iptables-legacy-save 2>/dev/null | grep -v '^[#:]' | sed 's/^/iptl /' || true
	} | sort
}
lab_check "the route is installed" gw_until 10 has_route "$N1"
inventory host >"$LAB_DIR/inv-host.0"
inventory vm >"$LAB_DIR/inv-vm.0"
echo "# baseline: host $(wc -l <"$LAB_DIR/inv-host.0") items, vm $(wc -l <"$LAB_DIR/inv-vm.0") items"

devup() { ip -n "$1" link show "$2" >/dev/null 2>&1; }
restart_loop()	# host|vm
{
	local side=$1 i pid conf start ns ifn
	if [ "$side" = host ]; then
		pid=$HOST_PID conf=$LAB_DIR/gangway.conf start=gw_start_host ns=$H ifn=$HOST_IF
	else
		pid=$GUEST_PID conf=$LAB_DIR/gangwayd.conf start=gw_start_guest ns=$V ifn=$GUEST_IF
	fi
	for ((i = 1; i <= RESTARTS; i++)); do
		kill -9 "$pid"
		lab_kill "$pid" KILL 5 || { echo "# $side: pid $pid does not die"; return 1; }
		"$start" "$side" "$side-$i" "$conf"
		pid=$GW_PID
		# Every other round is killed as soon as its device exists, the
		# rest once it has had 300 ms to set up its routes and rules.
		gw_until 5 devup "$ns" "$ifn" || { echo "# $side round $i: no device"; return 1; }
		((i % 2)) || sleep 0.3
		rm -f "$LAB_DIR/$side-$((i - 1)).log"
	done
	if [ "$side" = host ]; then HOST_PID=$pid; else GUEST_PID=$pid; fi
}

for side in host vm; do
	T0=$SECONDS
	lab_check "$RESTARTS x kill -9 and restart of the $side side" restart_loop $side
	echo "# $side: $RESTARTS restarts in $((SECONDS - T0)) s"
	T0=$SECONDS
	lab_check "after the $side loop, traffic resumes within 15 s" gw_until 15 reach
	echo "# resumed after $((SECONDS - T0)) s"
done

lab_check "the route is installed" gw_until 10 has_route "$N1"
# Let any last rule repair or route change settle.
sleep 1
inventory host >"$LAB_DIR/inv-host.1"
inventory vm >"$LAB_DIR/inv-vm.1"
diff "$LAB_DIR/inv-host.0" "$LAB_DIR/inv-host.1" || true
diff "$LAB_DIR/inv-vm.0" "$LAB_DIR/inv-vm.1" || true
lab_check "host: devices, routes, rules as after the first start" \
	cmp -s "$LAB_DIR/inv-host.0" "$LAB_DIR/inv-host.1"
lab_check "vm: devices, routes, firewall rules as after the first start" \
	cmp -s "$LAB_DIR/inv-vm.0" "$LAB_DIR/inv-vm.1"
lab_check "no duplicate device or route" \
	bash -c "[ -z \"\$(cat '$LAB_DIR/inv-host.1' '$LAB_DIR/inv-vm.1' | grep -v '^nft\\|^iptl\\|fe80::LL' | uniq -d)\" ]"
nh=$(pgrep -f -- "up -v -c $LAB_DIR/gangway.conf" | wc -l)
ng=$(pgrep -f -- "gangwayd -v -c $LAB_DIR/gangwayd.conf" | wc -l)
lab_check "exactly one host agent ($nh) and one guest daemon ($ng) run" \
	test "$nh" -eq 1 -a "$ng" -eq 1
lab_check "a transfer after the loops is intact" gw_transfer host c1 "$C1" 5001 10
lab_done
