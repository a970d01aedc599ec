#!/usr/bin/env bash
# After start, both daemons hold only the capabilities they keep (guest:
# CAP_NET_ADMIN and CAP_NET_RAW, host agent: CAP_NET_ADMIN) in every set,
# with no_new_privs on; the tunnel still carries traffic, the guest still
# follows new networks, SIGHUP reloads still work. Under a service manager
# (NOTIFY_SOCKET, WATCHDOG_USEC) each sends READY=1 once its device is up,
# then WATCHDOG=1 at half the interval.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up

# A stand-in service manager: one datagram socket, each message logged
# with the time it came and whether the daemon's device existed then.
notify_listen()	# SOCK LOG IFNAME NS
{
	lab_bg "$4" "$2" python3 -u -c '
import os, socket, subprocess, sys, time
path, ifname = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("listening", flush=True)
while True:
    m = s.recv(4096).decode()
    up = subprocess.run(["ip", "link", "show", ifname], capture_output=True).returncode == 0
    print("%.3f %s dev=%s" % (time.monotonic(), m, "yes" if up else "no"), flush=True)
' "$1" "$3" >/dev/null
	lab_retry 5 grep -q listening "$2"
}
notify_listen "$LAB_DIR/host.sock" "$LAB_DIR/host-notify.log" "$HOST_IF" host
notify_listen "$LAB_DIR/guest.sock" "$LAB_DIR/guest-notify.log" "$GUEST_IF" vm

# A User that does not exist: said once, and the agent runs as root. The
# guest too, whether or not this machine has the gangway user (which
# make install and the package create, and 89-units for its run).
NOUSER=nosuch-$LAB_RUN
sed -i "s/^\[Gangway\]\$/[Gangway]\nUser = $NOUSER/" "$LAB_DIR/host.conf" "$LAB_DIR/guest.conf"
GW_ENV="NOTIFY_SOCKET=$LAB_DIR/host.sock WATCHDOG_USEC=1000000" gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
# WATCHDOG_PID names another process: the watchdog is not ours to feed.
GW_ENV="NOTIFY_SOCKET=$LAB_DIR/guest.sock WATCHDOG_USEC=1000000 WATCHDOG_PID=1" \
	gw_start_guest vm guest "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID
gw_wait_log "$LAB_DIR/host.log" "Handshake with peer" 15

capline() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
caps_are()	# PID HEXMASK
{
	local k v ok=0
	for k in CapEff CapPrm CapBnd; do
		v=$(capline "$1" "$k")
		if ((16#$v != $2)); then
			echo "pid $1 $k is $v, want $(printf '%016x' "$2")"
			ok=1
		fi
	done
	for k in CapInh CapAmb; do
		v=$(capline "$1" "$k")
		((16#$v == 0)) || { echo "pid $1 $k is $v, want 0"; ok=1; }
	done
	return $ok
}
NET_ADMIN=$((1 << 12)) NET_RAW=$((1 << 13)) NET_BIND_SERVICE=$((1 << 10))

lab_check "the host agent runs" kill -0 "$HOST_PID"
lab_check "the guest daemon runs" kill -0 "$GUEST_PID"
lab_check "host agent: only CAP_NET_ADMIN in CapEff/CapPrm/CapBnd" caps_are "$HOST_PID" $NET_ADMIN
# Names are on by default: the DNS server on port 53 keeps CAP_NET_BIND_SERVICE.
lab_check "guest daemon: only CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE" \
	caps_are "$GUEST_PID" $((NET_ADMIN | NET_RAW | NET_BIND_SERVICE))
lab_check "host agent: no user $NOUSER, said once, running as root" \
	bash -c "[ \$(grep -c \"No user '$NOUSER': running as root\" $LAB_DIR/host.log) = 1 ] &&
		grep -q '^Uid:[[:space:]]*0[[:space:]]' /proc/$HOST_PID/status"
lab_check "host agent: Seccomp 2 (its own filter)" \
	bash -c "[ \$(awk '\$1 == \"Seccomp:\" {print \$2}' /proc/$HOST_PID/status) = 2 ]"
lab_check "guest daemon: Seccomp 2 (its own filter)" \
	bash -c "[ \$(awk '\$1 == \"Seccomp:\" {print \$2}' /proc/$GUEST_PID/status) = 2 ]"
lab_check "host agent: NoNewPrivs 1" bash -c "[ \$(awk '\$1 == \"NoNewPrivs:\" {print \$2}' /proc/$HOST_PID/status) = 1 ]"
lab_check "guest daemon: NoNewPrivs 1" bash -c "[ \$(awk '\$1 == \"NoNewPrivs:\" {print \$2}' /proc/$GUEST_PID/status) = 1 ]"
lab_check "the tunnel carries traffic: host pings the guest" lab_exec host ping -c 2 -i 0.2 -W 2 "$TG"
lab_check "...and the container behind it" gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"

# A network that appears after the drop is still routed and reachable.
N2=$(lab_subnet4 2)
lab_bridge_add br-new "$N2"
lab_container_add c2 br-new "${N2%.0/24}.2"
sed -i "s|^AllowedIPs = $TG/32, $NET|AllowedIPs = $TG/32, $NET, $N2|" "$LAB_DIR/host.conf"
kill -HUP "$HOST_PID"
lab_check "after SIGHUP and a new network, the new container answers" \
	gw_until 10 lab_exec host ping -c 1 -W 1 "${N2%.0/24}.2"
lab_check "the reload was taken" gw_wait_log "$LAB_DIR/host.log" "Reloading" 5

# Service manager protocol.
ready_with_dev() { grep -q "READY=1 dev=yes" "$1"; }
lab_check "host agent: READY=1 sent, its device already up" ready_with_dev "$LAB_DIR/host-notify.log"
lab_check_fail "host agent: no READY=1 before its device" grep -q "READY=1 dev=no" "$LAB_DIR/host-notify.log"
lab_check "guest daemon: READY=1 sent, its device already up" ready_with_dev "$LAB_DIR/guest-notify.log"
lab_check "host agent: RELOADING=1 then READY=1 on SIGHUP" \
	bash -c "grep -A1 RELOADING=1 $LAB_DIR/host-notify.log | grep -q READY=1"
sleep 2
lab_check "host agent: WATCHDOG=1 every 0.5 s (>= 3 in 2 s)" \
	bash -c "[ \$(grep -c WATCHDOG=1 $LAB_DIR/host-notify.log) -ge 3 ]"
lab_check_fail "guest daemon: no WATCHDOG=1 when WATCHDOG_PID names another process" \
	grep -q WATCHDOG=1 "$LAB_DIR/guest-notify.log"
kill -TERM "$HOST_PID"
lab_check "host agent: STOPPING=1 on SIGTERM" gw_wait_log "$LAB_DIR/host-notify.log" "STOPPING=1" 5
lab_kill "$HOST_PID"
lab_kill "$GUEST_PID"

# As the systemd units start them: a bounding set of only what each unit
# grants (no CAP_SETPCAP, so the daemon cannot and need not shrink it),
# no_new_privs already set. Both must start and carry traffic.
unit_start()	# NS NAME CAPS PROGRAM ARGS...
{
	local ns=$1 name=$2 caps=$3
	shift 3
	lab_bg "$ns" "$LAB_DIR/$name.log" setpriv --no-new-privs --inh-caps=-all \
		--bounding-set="-all,$caps" "$@" >/dev/null
	GW_PID=$LAB_BG_PID
}
unit_start host host-unit +net_admin "$GW_GANGWAY" up -v -c "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
unit_start vm guest-unit +net_admin,+net_raw "$GW_GANGWAYD" -v -c "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID
lab_check "with the unit's bounding set, the host agent comes up" \
	gw_wait_log "$LAB_DIR/host-unit.log" "Handshake with peer" 15
lab_check "...the guest daemon runs" kill -0 "$GUEST_PID"
lab_check "...the container answers through the tunnel" gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"
lab_check "...host agent: only CAP_NET_ADMIN" caps_are "$HOST_PID" $NET_ADMIN
lab_check "...guest daemon: only CAP_NET_ADMIN, CAP_NET_RAW" caps_are "$GUEST_PID" $((NET_ADMIN | NET_RAW))
lab_check_fail "...no warning about the bounding set" grep -q "bounding set" \
	"$LAB_DIR/host-unit.log" "$LAB_DIR/guest-unit.log"
lab_done
