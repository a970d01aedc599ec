# gw.sh - gangway and WireGuard peers in a lab (bash library, after lab.sh)
#
#   gw_keypair NAME             writes $LAB_DIR/NAME.key and NAME.pub
#   gw_conf FILE <<EOF ... EOF  writes a config file with mode 0600
#   gw_host_conf NAME ADDR IF   writes $LAB_DIR/NAME.conf: the host end with
#                               key NAME.key, address ADDR, ListenPort 51820,
#                               interface IF, StateDirectory $LAB_DIR/state
#   gw_guest_conf NAME ADDR IF ENDPOINT ALLOWED [PORT]
#                               writes $LAB_DIR/NAME.conf: a guest with key
#                               NAME.key dialling the host (host.pub) at
#                               ENDPOINT, keepalive 25 s
#   gw_conf_peer FILE PUBNAME ALLOWED
#                               appends a [Peer] with key PUBNAME.pub
#   (sections may come in any order; a line appended to one of these
#   files lands in its last section: [Gangway] in a guest's, the last
#   [Peer] in a host's once a peer is added)
#   gw_start_guest NS NAME CONF start build/gangwayd -c CONF in NS; sets GW_PID
#   gw_start_host NS NAME CONF  start build/gangway up -c CONF in NS; sets GW_PID
#   gw_use_test_hooks           later starts use the test build of the programs
#                               (GANGWAY_TEST_TIMERS works only there)
#   gw_wggo_up NS IF ADDR       start wireguard-go IF in NS with address ADDR
#                               (configure it with gw_wg NS set IF ...);
#                               sets GW_PID
#   gw_wg NS ARGS...            wg(8) in NS
#   gw_wait_handshake NS IF SECS   wait for a wg(8) peer handshake on IF
#   gw_wait_log FILE PATTERN SECS  wait for PATTERN in a log
#   gw_transfer FROMNS TONS DST PORT MBYTES
#                               send MBYTES of random data by TCP from FROMNS to
#                               DST:PORT (a listener in TONS), compare SHA-256
#                               of what was sent and what arrived
#   gw_udp_silence NS DST PORT  helper: tests/tools/udpspray against a port
#
# Binaries come from $BUILD (default build), relative to the repository.

GW_BUILD=$(lab_build_dir)
GW_GANGWAY=$GW_BUILD/gangway
GW_GANGWAYD=$GW_BUILD/gangwayd

# The guests' default state directory, /run/gangway, is given to the
# daemon's user when one exists; once that account is deleted the folder
# belongs to no one, and a daemon refuses it (statedir.c) until a reboot
# clears /run. What an earlier run left that way is root's again.
if [[ -d /run/gangway && ! -L /run/gangway ]] &&
	! getent passwd "$(stat -c %u /run/gangway)" >/dev/null; then
	chown root /run/gangway
fi

# From here on, start the test build of both programs ($BUILD/test-hooks,
# made by `make tests`), the only one that honours GANGWAY_TEST_TIMERS.
gw_use_test_hooks()
{
	GW_GANGWAY=$GW_BUILD/test-hooks/gangway
	GW_GANGWAYD=$GW_BUILD/test-hooks/gangwayd
}

gw_keypair()
{
	local name=$1

	(umask 077; "$GW_GANGWAY" genkey >"$LAB_DIR/$name.key")
	"$GW_GANGWAY" pubkey <"$LAB_DIR/$name.key" >"$LAB_DIR/$name.pub"
}

gw_conf()
{
	(umask 077; cat >"$1")
	# Where the daemons' default user exists (make install and the package
	# create it), they run as it and read the file again on every reload:
	# give that user the file as the manual says, its group and mode 0640.
	if getent group gangway >/dev/null; then
		chgrp gangway "$1" && chmod 0640 "$1"
	fi
}

gw_host_conf()
{
	gw_conf "$LAB_DIR/$1.conf" <<CONF
[Interface]
PrivateKey = $(cat "$LAB_DIR/$1.key")
Address = $2
ListenPort = 51820

[Gangway]
Interface = $3
StateDirectory = $LAB_DIR/state
CONF
}

gw_conf_peer()
{
	cat >>"$1" <<CONF

[Peer]
PublicKey = $(cat "$LAB_DIR/$2.pub")
AllowedIPs = $3
CONF
}

gw_guest_conf()
{
	gw_conf "$LAB_DIR/$1.conf" <<CONF
[Interface]
PrivateKey = $(cat "$LAB_DIR/$1.key")
Address = $2
${6:+ListenPort = $6}

[Peer]
PublicKey = $(cat "$LAB_DIR/host.pub")
Endpoint = $4
AllowedIPs = $5
PersistentKeepalive = 25

[Gangway]
Interface = $3
CONF
}

gw_start_guest()
{
	local ns=$1 name=$2 conf=$3
	shift 3
	lab_bg "$ns" "$LAB_DIR/$name.log" env ${GW_ENV:-} "$GW_GANGWAYD" -v -c "$conf" "$@" >/dev/null
	GW_PID=$LAB_BG_PID
}

gw_start_host()
{
	local ns=$1 name=$2 conf=$3
	shift 3
	lab_bg "$ns" "$LAB_DIR/$name.log" env ${GW_ENV:-} "$GW_GANGWAY" up -v -c "$conf" "$@" >/dev/null
	GW_PID=$LAB_BG_PID
}

gw_wg()
{
	local ns
	ns=$(lab_ns "$1")
	shift
	ip netns exec "$ns" wg "$@"
}

gw_wggo_up()
{
	local ns=$1 ifname=$2 addr=$3 nsname

	nsname=$(lab_ns "$ns")
	# -f: foreground, so the lab owns the process and its PID.
	lab_bg "$ns" "$LAB_DIR/wggo-$ifname.log" env WG_PROCESS_FOREGROUND=1 \
		wireguard-go -f "$ifname" >/dev/null
	GW_PID=$LAB_BG_PID
	lab_retry 10 ip netns exec "$nsname" test -S "/var/run/wireguard/$ifname.sock"
	ip -n "$nsname" addr add "$addr" dev "$ifname"
	ip -n "$nsname" link set "$ifname" up
}

gw_wait_handshake()
{
	local ns=$1 ifname=$2 secs=$3
	lab_retry "$secs" bash -c "ip netns exec $(lab_ns "$ns") wg show $ifname latest-handshakes | awk '\$2 > 0 {ok=1} END {exit !ok}'"
}

gw_wait_log()
{
	local file=$1 pattern=$2 secs=$3
	lab_retry "$secs" grep -q -- "$pattern" "$file"
}

# TCP transfer with checksums at both ends.
gw_transfer()
{
	local from=$1 to=$2 dst=$3 port=$4 mb=$5 src out sum_in sum_out pid
	src=$LAB_DIR/xfer-$port.src
	out=$LAB_DIR/xfer-$port.out
	head -c "$((mb * 1024 * 1024))" /dev/urandom >"$src"
	sum_in=$(sha256sum <"$src" | cut -d' ' -f1)
	lab_bg "$to" "$LAB_DIR/xfer-$port.listen.log" sh -c "nc -l -p $port >'$out' 2>/dev/null || nc -l $port >'$out'" >/dev/null
	pid=$LAB_BG_PID
	lab_retry 5 bash -c "ip netns exec $(lab_ns "$to") ss -ltn | grep -q ':$port '"
	if ! timeout 120 ip netns exec "$(lab_ns "$from")" nc -N -w 10 "$dst" "$port" <"$src"; then
		echo "transfer to $dst:$port failed" >&2
		return 1
	fi
	lab_retry 30 bash -c "! kill -0 $pid 2>/dev/null"
	sum_out=$(sha256sum <"$out" | cut -d' ' -f1)
	echo "# sent $mb MiB sha256 $sum_in, received $(stat -c %s "$out") bytes sha256 $sum_out"
	rm -f "$src" "$out"
	[ "$sum_in" = "$sum_out" ]
}

# A third namespace "att" hanging off the host, which forwards for it: it
# reaches both the host's and the vm's UDP ports. Sets GW_ATT_IP.
gw_attacker_up()
{
	local h a
	h=$(lab_ns host)
	lab_ns_add att
	a=$(lab_ns att)
	ip link add name "$LAB_RUN-att" netns "$h" type veth peer name eth0 netns "$a"
	ip -n "$h" addr add "10.202.$LAB_OCTET.1/24" dev "$LAB_RUN-att"
	ip -n "$a" addr add "10.202.$LAB_OCTET.2/24" dev eth0
	ip -n "$h" link set "$LAB_RUN-att" up
	ip -n "$a" link set eth0 up
	ip -n "$a" route add default via "10.202.$LAB_OCTET.1"
	ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1
	GW_ATT_IP=10.202.$LAB_OCTET.2
}

# Start a capture in NS on IF with FILTER into FILE; sets GW_CAP_PID.
gw_capture()
{
	local ns=$1 ifname=$2 file=$3 filter=$4
	lab_bg "$ns" "$file.log" tcpdump -U -n -i "$ifname" -w "$file" $filter >/dev/null
	GW_CAP_PID=$LAB_BG_PID
	lab_retry 5 grep -q "listening on" "$file.log"
}

# Number of packets in a capture file.
gw_pcap_count()
{
	tcpdump -n -r "$1" 2>/dev/null | wc -l
}

# A second VM namespace NAME off the host (uplink 10.K.X.0/24, K = 203 + N)
# with one container namespace C on a veth at 10.(210+N).X.2/24.
# Sets GW_VM_HOST_IP (the host's address on that uplink) and GW_VM_CIP.
gw_vm_add()
{
	local name=$1 n=$2 c=$3 h v ct k=$((203 + $2)) s=$((210 + $2))
	h=$(lab_ns host)
	lab_ns_add "$name"
	lab_ns_add "$c"
	v=$(lab_ns "$name")
	ct=$(lab_ns "$c")
	ip link add name "$LAB_RUN-v$n" netns "$h" type veth peer name up0 netns "$v"
	ip -n "$h" addr add "10.$k.$LAB_OCTET.1/24" dev "$LAB_RUN-v$n"
	ip -n "$v" addr add "10.$k.$LAB_OCTET.2/24" dev up0
	ip -n "$h" link set "$LAB_RUN-v$n" up
	ip -n "$v" link set up0 up
	ip -n "$v" route add default via "10.$k.$LAB_OCTET.1"
	ip link add name c0 netns "$v" type veth peer name eth0 netns "$ct"
	ip -n "$v" addr add "10.$s.$LAB_OCTET.1/24" dev c0
	ip -n "$ct" addr add "10.$s.$LAB_OCTET.2/24" dev eth0
	ip -n "$v" link set c0 up
	ip -n "$ct" link set eth0 up
	ip -n "$ct" route add default via "10.$s.$LAB_OCTET.1"
	ip netns exec "$v" sysctl -qw net.ipv4.ip_forward=1
	GW_VM_HOST_IP=10.$k.$LAB_OCTET.1
	GW_VM_CIP=10.$s.$LAB_OCTET.2
	GW_VM_NET=10.$s.$LAB_OCTET.0/24
}

# Standard gangway-to-gangway lab: host agent in "host", guest daemon in
# "vm" with container c1 on bridge br0. Sets NET CIP TH TG HOST_IF GUEST_IF.
gw_pair_up()
{
	NET=$(lab_subnet4 1)
	lab_bridge_add br0 "$NET"
	CIP=${NET%.0/24}.2
	lab_container_add c1 br0 "$CIP"
	gw_keypair host
	gw_keypair guest
	TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2
	HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
	gw_host_conf host "$TH/24" "$HOST_IF"
	gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32, $NET"
	gw_guest_conf guest "$TG/24" "$GUEST_IF" "$LAB_HOST_IP4:51820" "$TH/32" 51821
}

gw_pair_start()
{
	gw_start_host host host "$LAB_DIR/host.conf"
	HOST_PID=$GW_PID
	gw_start_guest vm guest "$LAB_DIR/guest.conf"
	GUEST_PID=$GW_PID
	gw_wait_log "$LAB_DIR/host.log" "Handshake with peer" 15
}

# Run CMD until it succeeds; fail once SECS of wall time have passed.
gw_until()
{
	local secs=$1 end=$((SECONDS + $1))
	shift
	while ((SECONDS < end)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# A private system bus in the host namespace with the fake systemd-resolved
# (tests/tools/fake_resolved) on it, for the host agent's resolver. Exports
# DBUS_SYSTEM_BUS_ADDRESS; sets FAKE_RESOLVED_PID. Its log:
# $LAB_DIR/resolved.log.
gw_fake_resolved_up()
{
	local fake bus=$LAB_DIR/system_bus_socket

	fake=$(lab_build_dir)/tests/fake_resolved
	[[ -x $fake ]] || { lab_err "$fake not built (make tests)"; return 1; }
	lab_bg host "$LAB_DIR/dbus.log" dbus-daemon --session --nofork --address "unix:path=$bus" >/dev/null
	gw_until 5 test -S "$bus"
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$bus
	lab_bg host "$LAB_DIR/resolved.log" env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$fake" >/dev/null
	FAKE_RESOLVED_PID=$LAB_BG_PID
	gw_until 5 grep -q ready "$LAB_DIR/resolved.log"
}
