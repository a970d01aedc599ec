#!/usr/bin/env bash
# The fast packet path against the plain one: 1 GiB by TCP through the
# tunnel with every offload on (TSO/USO on the TUN device, UDP GSO/GRO,
# batches, two crypto worker threads) and 1 GiB again with no offloads
# (GANGWAY_PKTIO=plain: one system call per packet, batches the workers
# share, a TUN queue that drops nothing), each checked byte for byte; then fast talking to
# plain, batches without workers, IPv6, UDP superpackets (USO), fragments
# and the tunnel MTU; last a short run of the benchmark.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up

# gw_pair_up's lab, with IPv6 inside the tunnel and on the container too.
NET=$(lab_subnet4 1)
NET6=$(lab_subnet6 1)
lab_bridge_add br0 "$NET" "$NET6"
CIP=${NET%.0/24}.2
CIP6=${NET6%/*}2
lab_container_add c1 br0 "$CIP" "$CIP6"
gw_keypair host
gw_keypair guest
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2
TH6=$LAB_ULA48:200::1 TG6=$LAB_ULA48:200::2
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
gw_host_conf host "$TH/24, $TH6/64" "$HOST_IF"
gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32, $TG6/128, $NET, $NET6"
gw_guest_conf guest "$TG/24, $TG6/64" "$GUEST_IF" "$LAB_HOST_IP4:51820" "$TH/32, $TH6/128" 51821

# One file of random data serves every transfer; its digest is taken once.
DATA=$LAB_DIR/data
head -c $((512 << 20)) /dev/urandom >"$DATA"
SUM=$(sha256sum <"$DATA" | cut -d' ' -f1)

# Send MIB MiB of $DATA from FROMNS to a listener in TONS at DST:PORT; the
# receiver hashes the stream as it arrives.
xfer()
{
	local from=$1 to=$2 dst=$3 port=$4 mib=$5 fam=4 got pid
	[[ $dst == *:* ]] && fam=6
	lab_bg "$to" "$LAB_DIR/sum-$port" sh -c "nc -$fam -l -p $port | sha256sum" >/dev/null
	pid=$LAB_BG_PID
	lab_retry 5 bash -c "ip netns exec $(lab_ns "$to") ss -ltn | grep -q ':$port '"
	if ! head -c $((mib << 20)) "$DATA" |
		timeout 120 ip netns exec "$(lab_ns "$from")" nc -N -w 10 "$dst" "$port"; then
		echo "sending to $dst:$port failed"
		return 1
	fi
	lab_retry 30 bash -c "! kill -0 $pid 2>/dev/null"
	got=$(cut -d' ' -f1 "$LAB_DIR/sum-$port")
	if ((mib == 512)); then
		[[ $got == "$SUM" ]] || { echo "sha256 $got, sent $SUM"; return 1; }
	else
		want=$(head -c $((mib << 20)) "$DATA" | sha256sum | cut -d' ' -f1)
		[[ $got == "$want" ]] || { echo "sha256 $got, sent $want"; return 1; }
	fi
	echo "# $mib MiB $dst:$port intact"
}

start_pair()	# HOST-MODE GUEST-MODE [ENV...]
{
	GW_ENV="${1:+GANGWAY_PKTIO=$1} ${*:3}" gw_start_host host host "$LAB_DIR/host.conf"
	HOST_PID=$GW_PID
	GW_ENV="${2:+GANGWAY_PKTIO=$2} ${*:3}" gw_start_guest vm guest "$LAB_DIR/guest.conf"
	GUEST_PID=$GW_PID
	gw_wait_log "$LAB_DIR/host.log" "Handshake with peer" 15
	lab_retry 10 ip netns exec "$(lab_ns host)" ping -c 1 -W 1 "$CIP" >/dev/null
}

stop_pair()
{
	lab_kill "$HOST_PID"
	lab_kill "$GUEST_PID"
}

# The crypto threads each side's status reports: packets per thread, event loop first.
threads()	# host|guest
{
	"$GW_GANGWAY" status -j -c "$LAB_DIR/$1.conf" | jq -c '.crypto_threads'
}
# Two workers beside the event loop ran part of the crypto.
workers_ran()	# host|guest
{
	local t
	t=$(threads "$1")
	echo "# $1 crypto threads: $t"
	jq -e 'length == 3 and .[1] + .[2] > 0 and add > 100000' <<<"$t" >/dev/null
}

# ---- 1. every offload on, two crypto workers each side (whatever the CPUs)
start_pair "" "" GANGWAY_CRYPTO_WORKERS=2
lab_check "host agent uses the fast path with TUN and UDP offloads" \
	grep -q "packet I/O fast (TUN vnet TSO.*, UDP mmsg GSO GRO)" "$LAB_DIR/host.log"
lab_check "guest daemon uses the fast path with TUN and UDP offloads" \
	grep -q "packet I/O fast (TUN vnet TSO.*, UDP mmsg GSO GRO)" "$LAB_DIR/guest.log"
lab_check "both ends start 2 crypto worker threads" bash -c \
	"grep -q '2 crypto worker thread(s)' '$LAB_DIR/host.log' && grep -q '2 crypto worker thread(s)' '$LAB_DIR/guest.log'"
lab_check "fast: 512 MiB host -> container intact" xfer host c1 "$CIP" 5001 512
lab_check "fast: 512 MiB container -> host intact" xfer c1 host "$TH" 5002 512
lab_check "host: the workers sealed and opened part of it" workers_ran host
lab_check "guest: the workers sealed and opened part of it" workers_ran guest
lab_check "fast: 64 MiB over IPv6 host -> container intact" xfer host c1 "$CIP6" 5003 64
lab_check "fast: 64 MiB over IPv6 container -> host intact" xfer c1 host "$TH6" 5004 64

# UDP superpackets: the host's sender hands the kernel 40 datagrams at a
# time (UDP_SEGMENT), the TUN device passes them on whole (USO), gangway
# cuts them; the guest merges them again for its TUN device. Every
# datagram that arrives must be the one sent, byte for byte.
cat >"$LAB_DIR/udpgso.py" <<'PY'
import hashlib, socket, struct, sys, time
SEG = 1200
def body(seq):
    h = struct.pack('!I', seq)
    return h + (hashlib.sha256(h).digest() * 38)[:SEG - 4]
if sys.argv[1] == 'send':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_UDP, 103, SEG)      # UDP_SEGMENT
    seq = 0
    for burst in range(int(sys.argv[4])):
        s.sendto(b''.join(body(seq + i) for i in range(40)), (sys.argv[2], int(sys.argv[3])))
        seq += 40
        time.sleep(0.002)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(('0.0.0.0', int(sys.argv[2])))
    s.settimeout(3)
    good = bad = 0
    print('ready', flush=True)
    while True:
        try:
            d = s.recv(65535)
        except socket.timeout:
            break
        if len(d) >= 4 and d == body(struct.unpack('!I', d[:4])[0]):
            good += 1
        else:
            bad += 1
    print(good, bad, flush=True)
PY
lab_bg c1 "$LAB_DIR/udprecv.log" /usr/bin/python3 "$LAB_DIR/udpgso.py" recv 6000 >/dev/null
UDPRECV=$LAB_BG_PID
lab_retry 5 grep -q ready "$LAB_DIR/udprecv.log"
ip netns exec "$(lab_ns host)" /usr/bin/python3 "$LAB_DIR/udpgso.py" send "$CIP" 6000 250
lab_retry 10 bash -c "! kill -0 $UDPRECV 2>/dev/null"
read -r UGOOD UBAD < <(tail -1 "$LAB_DIR/udprecv.log")
echo "# UDP: $UGOOD datagrams intact, $UBAD damaged, of 10000 sent"
lab_check "UDP GSO superpackets: no damaged datagram" test "$UBAD" -eq 0
lab_check "UDP GSO superpackets: at least 90% arrived" test "$UGOOD" -ge 9000

# Fragments pass whole (never merged), and the tunnel MTU is what the
# kernel enforces before a packet reaches the device.
lab_check "fragmented pings (4000 bytes) cross the tunnel" \
	lab_exec host ping -c 3 -i 0.2 -W 2 -s 4000 "$TG"
lab_check "a DF packet larger than the tunnel gets frag-needed with MTU 1420" bash -c \
	"ip netns exec $(lab_ns c1) ping -c 1 -W 2 -M do -s 1450 $TH 2>&1 | grep -qi 'mtu = 1420'"
lab_check "a DF packet that fits crosses" \
	lab_exec c1 ping -c 2 -i 0.2 -W 2 -M 'do' -s 1392 "$TH"
stop_pair

# TX packets the kernel dropped on a namespace's TUN device (its queue full).
tun_drops()	# host|vm IF
{
	ip -n "$(lab_ns "$1")" -j -s link show "$2" | jq '.[0].stats64.tx.dropped'
}

# ---- 2. no offloads, one system call per packet, in batches the workers share
start_pair plain plain GANGWAY_CRYPTO_WORKERS=2
lab_check "plain: both ends say so" bash -c \
	"grep -q 'packet I/O plain' '$LAB_DIR/host.log' && grep -q 'packet I/O plain' '$LAB_DIR/guest.log'"
lab_check "plain: the TUN devices queue 4096 packets" bash -c \
	"ip -n $(lab_ns host) link show $HOST_IF | grep -q 'qlen 4096' &&
	 ip -n $(lab_ns vm) link show $GUEST_IF | grep -q 'qlen 4096'"
lab_check "plain: 512 MiB host -> container intact" xfer host c1 "$CIP" 5011 512
lab_check "plain: 512 MiB container -> host intact" xfer c1 host "$TH" 5012 512
lab_check "plain: the workers sealed and opened part of it (host)" workers_ran host
lab_check "plain: the workers sealed and opened part of it (guest)" workers_ran guest
HDROPS=$(tun_drops host "$HOST_IF") GDROPS=$(tun_drops vm "$GUEST_IF")
echo "# TUN drops: host $HDROPS, guest $GDROPS"
lab_check "plain: neither TUN device dropped a packet of the streams" \
	test "$HDROPS" = 0 -a "$GDROPS" = 0
stop_pair

# ---- 3. mixed: superpackets cut on one side, single packets merged on the other
start_pair "" plain
lab_check "fast host, plain guest: 64 MiB host -> container intact" xfer host c1 "$CIP" 5021 64
lab_check "fast host, plain guest: 64 MiB container -> host intact" xfer c1 host "$TH" 5022 64
stop_pair
# The host is put in batch mode, all crypto on its event loop, by its
# configuration file this time.
sed -i 's/^\[Gangway\]$/[Gangway]\nPacketIO = batch\nCryptoWorkers = 0/' "$LAB_DIR/host.conf"
start_pair "" ""
lab_check "batch host, fast guest: 64 MiB host -> container intact" xfer host c1 "$CIP" 5031 64
lab_check "batch host, fast guest: 64 MiB container -> host intact" xfer c1 host "$TH" 5032 64
lab_check "PacketIO = batch: virtio-net headers off, mmsg on" \
	grep -q "packet I/O batch (TUN, UDP mmsg" "$LAB_DIR/host.log"
lab_check "CryptoWorkers = 0: no worker thread, none in the status" bash -c \
	"! grep -q 'crypto worker' '$LAB_DIR/host.log' && [[ \$('$GW_GANGWAY' status -j -c '$LAB_DIR/host.conf' | jq -c .crypto_threads) == '[]' ]]"
stop_pair
sed -i '/^PacketIO = batch$/d; /^CryptoWorkers = 0$/d' "$LAB_DIR/host.conf"
lab_check "an unknown GANGWAY_PKTIO is refused" bash -c \
	"! ip netns exec $(lab_ns vm) env GANGWAY_PKTIO=turbo '$GW_GANGWAYD' -c '$LAB_DIR/guest.conf' >'$LAB_DIR/turbo.log' 2>&1"
rm -f "$DATA"

# ---- 4. the benchmark, briefly (its own lab)
lab_check "bench smoke run" bash "$LAB_REPO/tests/bench/bench.sh" --smoke \
	--out "$LAB_DIR/bench.txt"
cat "$LAB_DIR/bench.txt" 2>/dev/null || true
lab_done
