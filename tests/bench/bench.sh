#!/usr/bin/env bash
# bench.sh - tunnel throughput, packet rate and latency: plain routing,
# gangway's packet paths and wireguard-go side by side in one lab
#
#   tests/bench/bench.sh [--smoke] [--seconds N] [--rounds N] [--out FILE]
#                        [--wggo PATH] [--no-fallback]
#
# One lab (tests/lib/lab.sh): the "host" namespace reaches containers
# behind the "vm" namespace over one veth pair, three ways at once, one
# container each (an iperf3 server in every one):
#   plain     the host routes c3 straight to the vm, no tunnel: what the
#             veth and the kernel can do on this machine
#   gangway   gangway up (host) and gangwayd (vm) carry c1, default settings
#             (the fast path: TUN offloads, UDP GSO/GRO, batches)
#   wggo      wireguard-go at both ends, configured with wg(8), carries c2
#   wggo-pp   the same on TUN devices without offloads, one packet per
#             read and write as on macOS (tests/tools/tunfd.c), carries c4
#             (unless --no-fallback)
# The gangway pair is also restarted with the other packet paths and
# measured in the same rounds: "gw-batch" (GANGWAY_PKTIO=batch: batches
# of plain packets, no offloads) and "gw-plain" (GANGWAY_PKTIO=plain:
# packets one system call each, as on macOS without batches), unless
# --no-fallback. "gw-workers=N" is gangway with the other choice of crypto
# worker threads (GANGWAY_CRYPTO_WORKERS: 0 if the default starts some,
# else 1). Every round measures each setup in turn, so a machine busy with
# other work slows all of them alike; the table shows the median of the
# rounds, and a second table each setup's medians against wireguard-go's.
#
# Measurements, all from the host namespace: one TCP stream to the
# container and one back (iperf3 -R); 64-byte UDP payloads to the
# container as fast as one iperf3 sends them (packets per second that
# arrive); the mean ping round trip on an idle path ("added" = minus plain
# routing's). TCP retransmits are the sending side's, both directions
# together. CPU seconds per GB is the time both tunnel processes spent
# (user + system) per gigabyte of TCP moved; max RSS is the larger
# resident set of the two, sampled during the TCP runs. Heap allocations
# are gangway's calls to malloc, calloc and realloc per MB of TCP moved,
# counted by perf uprobes when perf can place them (Go has no such calls).
#
# The tables go to stdout and to --out (default $BUILD/bench/results.txt);
# the medians as data to results.dat beside it and, with gnuplot, as a
# chart to bench.png (tests/bench/chart.gp).
# --smoke: one round of 2-second runs of plain and gangway only; fails
# unless every number is there and non-zero (make check runs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/gw.sh

SECS=10
ROUNDS=3
SMOKE=0
FALLBACK=1
OUT=''
WGGO=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--smoke) SMOKE=1 SECS=2 ROUNDS=1 FALLBACK=0 ;;
	--seconds) SECS=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--wggo) WGGO=$2; shift ;;
	--no-fallback) FALLBACK=0 ;;
	*) echo "usage: $0 [--smoke] [--seconds N] [--rounds N] [--out FILE] [--wggo PATH] [--no-fallback]" >&2
	   exit 2 ;;
	esac
	shift
done
BDIR=$(lab_build_dir)
[[ -n $OUT ]] || OUT=$BDIR/bench/results.txt
if [[ -z $WGGO ]] && ((!SMOKE)); then
	if [[ -x $BDIR/bench/wggo-sid/usr/bin/wireguard-go ]]; then
		WGGO=$BDIR/bench/wggo-sid/usr/bin/wireguard-go
	elif command -v wireguard-go >/dev/null; then
		WGGO=$(command -v wireguard-go)
	fi
fi
for t in iperf3 jq ping; do
	command -v "$t" >/dev/null || { echo "bench: $t is missing (make deps)" >&2; exit 1; }
done

lab_init
lab_up
gw_pair_up
HNS=$(lab_ns host)
VNS=$(lab_ns vm)
C_GW=$CIP
C_WG=${NET%.0/24}.3
C_PLAIN=${NET%.0/24}.4
C_WGPP=${NET%.0/24}.5
TUNFD=$BDIR/tests/tunfd
lab_container_add c2 br0 "$C_WG"
lab_container_add c3 br0 "$C_PLAIN"
lab_container_add c4 br0 "$C_WGPP"
for c in c1 c2 c3 c4; do
	lab_bg "$c" "$LAB_DIR/iperf3-$c.log" iperf3 -s >/dev/null
done
for c in c1 c2 c3 c4; do
	lab_retry 5 bash -c "ip netns exec $(lab_ns $c) ss -ltn | grep -q ':5201 '"
done

declare -A R		# R[setup.metric.round]
declare -A DST=([plain]=$C_PLAIN [gangway]=$C_GW [wggo]=$C_WG [wggo-pp]=$C_WGPP)
declare -A GWENV=([gangway]='')
declare -A PIDS
declare -A MODES	# setup -> what its gangwayd said it uses
SETUPS=(plain gangway)

log() { printf '# %s\n' "$*" >&2; }

cpu_ticks()	# PID... : user + system clock ticks of all of them
{
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}

rss_sampler()	# OUT PID...
{
	local out=$1 p v
	shift
	while :; do
		for p in "$@"; do
			v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
			[[ -n $v ]] && echo "$v"
		done
		sleep 0.2
	done >"$out"
}

# iperf3 client in the host namespace; prints received bits/s, bytes and
# the sender's retransmits.
iperf_tcp()
{
	local dst=$1 json=$LAB_DIR/iperf.json tries=0
	shift
	# the server takes a moment to accept the next test after one ends
	while ! ip netns exec "$HNS" iperf3 -c "$dst" -J -t "$SECS" "$@" >"$json" 2>&1; do
		((++tries < 5)) || { cat "$json" >&2; return 1; }
		sleep 1
	done
	jq -r '"\(.end.sum_received.bits_per_second) \(.end.sum_received.bytes) \(.end.sum_sent.retransmits // 0)"' \
		"$json"
}

measure()	# SETUP ROUND
{
	local s=$1 r=$2 dst=${DST[$1]} procs=${PIDS[$1]:-} sp='' ap='' c0 c1 out bytes=0 m
	local retr=0 bps by rt

	lab_retry 10 ip netns exec "$HNS" ping -c 1 -W 1 "$dst" >/dev/null ||
		{ log "$s: no path to $dst"; return 1; }
	if [[ -n $procs ]]; then
		# shellcheck disable=SC2086
		rss_sampler "$LAB_DIR/rss.$s.$r" $procs &
		sp=$!
		# shellcheck disable=SC2086
		c0=$(cpu_ticks $procs)
	fi
	if [[ -n $ALLOC_GROUP && $s == g* ]]; then
		# shellcheck disable=SC2086
		perf stat -x, -e "$ALLOC_GROUP:*" -p "${procs// /,}" -o "$LAB_DIR/allocs.$s.$r" &
		ap=$!
		sleep 0.5
	fi
	for m in tcp_up tcp_down; do
		if [[ $m == tcp_up ]]; then out=$(iperf_tcp "$dst"); else out=$(iperf_tcp "$dst" -R); fi
		read -r bps by rt <<<"$out"
		R[$s.$m.$r]=$bps
		bytes=$((bytes + by))
		retr=$((retr + rt))
	done
	R[$s.retr.$r]=$retr
	if [[ -n ${ap:-} ]]; then
		kill -INT "$ap"
		wait "$ap" 2>/dev/null || true
		# allocations per MB moved (a packet is at most 1420 bytes: ~740 per MB)
		R[$s.allocs.$r]=$(awk -F, -v b="$bytes" '$3 ~ /:/ {n += $1} END { printf "%.3f", n / (b / 1e6) }' \
			"$LAB_DIR/allocs.$s.$r")
	fi
	if [[ -n $sp ]]; then
		# shellcheck disable=SC2086
		c1=$(cpu_ticks $procs)
		kill "$sp"
		wait "$sp" 2>/dev/null || true
		R[$s.cpu.$r]=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v b="$bytes" \
			'BEGIN { if (b > 0) print t / hz / (b / 1e9) }')
		R[$s.rss.$r]=$(sort -n "$LAB_DIR/rss.$s.$r" | tail -1)
	fi
	sleep 0.5
	ip netns exec "$HNS" iperf3 -c "$dst" -J -t "$SECS" -u -l 64 -b 0 >"$LAB_DIR/udp.json" 2>&1 || true
	# received = sent - lost, as the server counted them
	R[$s.udp_pps.$r]=$(jq -r '.end.sum | if .packets then ((.packets - .lost_packets) / .seconds) else empty end' \
		"$LAB_DIR/udp.json" 2>/dev/null || true)
	sleep 0.5
	R[$s.rtt.$r]=$(ip netns exec "$HNS" ping -q -c "$((SECS * 50))" -i 0.02 "$dst" |
		awk -F/ '/^rtt|^round-trip/ {print $5 * 1000}')
	log "round $r $s: tcp up ${R[$s.tcp_up.$r]} down ${R[$s.tcp_down.$r]} bit/s," \
	    "udp ${R[$s.udp_pps.$r]:-?} pkt/s, rtt ${R[$s.rtt.$r]:-?} us," \
	    "cpu ${R[$s.cpu.$r]:-?} s/GB, retransmits $retr, rss ${R[$s.rss.$r]:-?} KiB"
}

# Heap allocations of gangway's processes during the TCP runs, counted by
# uprobes on libc's allocator entry points (perf probe), when perf has them.
ALLOC_GROUP=''
LIBC=$(ldd "$GW_GANGWAYD" | awk '/libc\.so/ {print $3}')
if command -v perf >/dev/null && [[ -n $LIBC ]]; then
	g=gwb$LAB_NUM
	if perf probe -q -x "$LIBC" -a "$g:malloc=malloc" -a "$g:calloc=calloc" \
		-a "$g:realloc=realloc" >/dev/null 2>&1; then
		ALLOC_GROUP=$g
		lab_on_cleanup perf probe -q -d "$g:*"
	fi
fi

# ---- the setups
ip -n "$HNS" route add "$C_PLAIN/32" via "$LAB_VM_IP4"

RUNNING=''	# the GW_ENV the running pair was started with
gangway_start()	# ENV...
{
	GW_ENV="$*"
	: >"$LAB_DIR/host.log"
	: >"$LAB_DIR/guest.log"
	gw_pair_start
	RUNNING=$GW_ENV
	GW_ENV=
	local s
	MODE=$(grep -o 'packet I/O .*' "$LAB_DIR/guest.log" | tail -1 || true)
	WORKERS=$(grep -o '[0-9]* crypto worker' "$LAB_DIR/guest.log" | tail -1 | cut -d' ' -f1 || true)
	[[ -n $WORKERS ]] || WORKERS=0
	for s in "${!GWENV[@]}"; do
		PIDS[$s]="$HOST_PID $GUEST_PID"
		if [[ ${GWENV[$s]} == "$RUNNING" ]]; then
			MODES[$s]="$MODE; crypto worker threads: $WORKERS"
		fi
	done
}
gangway_restart()	# ENV...
{
	[[ "$*" == "$RUNNING" ]] && return 0
	read -r hp gp <<<"${PIDS[gangway]}"
	lab_kill "$hp"
	lab_kill "$gp"
	gangway_start "$@"
}
gangway_start
MODE_FAST=$MODE
if ((!SMOKE)); then
	# the other choice of worker threads, measured in the same rounds
	if [[ $WORKERS != 0 ]]; then OTHER=0; else OTHER=1; fi
	DST[gw-workers=$OTHER]=$C_GW
	GWENV[gw-workers=$OTHER]="GANGWAY_CRYPTO_WORKERS=$OTHER"
	SETUPS+=("gw-workers=$OTHER")
fi
if ((FALLBACK)); then
	# the other packet paths, default workers
	for p in batch plain; do
		DST[gw-$p]=$C_GW
		GWENV[gw-$p]="GANGWAY_PKTIO=$p"
		SETUPS+=("gw-$p")
	done
fi

# A wireguard-go pair NAME carrying container DST over its own interfaces
# HIF (host) and GIF (vm), tunnel addresses 10.SUB.x.1 and .2, ports
# HPORT and HPORT+1; LAUNCH (optional), given the interface's name, runs
# wireguard-go.
wggo_pair()	# NAME HIF GIF SUB HPORT DST [LAUNCH]
{
	local name=$1 hif=$2 gif=$3 sub=$4 hport=$5 dst=$6 launch=${7:-} n ifn pre
	local wh=10.$sub.$LAB_OCTET.1 wg=10.$sub.$LAB_OCTET.2
	for n in host vm; do
		ifn=$hif
		[[ $n == vm ]] && ifn=$gif
		pre=()
		[[ -n $launch ]] && pre=("$launch" "$ifn")
		lab_bg "$n" "$LAB_DIR/$name-$n.log" env WG_PROCESS_FOREGROUND=1 "${pre[@]}" "$WGGO" -f "$ifn" >/dev/null
		PIDS[$name]="${PIDS[$name]:-} $LAB_BG_PID"
		lab_retry 10 test -S "/var/run/wireguard/$ifn.sock"
	done
	ip -n "$HNS" addr add "$wh/24" dev "$hif"
	ip -n "$HNS" link set "$hif" up
	ip -n "$VNS" addr add "$wg/24" dev "$gif"
	ip -n "$VNS" link set "$gif" up
	gw_wg host set "$hif" private-key "$LAB_DIR/host.key" listen-port "$hport" \
		peer "$(cat "$LAB_DIR/guest.pub")" allowed-ips "$wg/32,$NET"
	gw_wg vm set "$gif" private-key "$LAB_DIR/guest.key" listen-port "$((hport + 1))" \
		peer "$(cat "$LAB_DIR/host.pub")" allowed-ips "$wh/32" \
		endpoint "$LAB_HOST_IP4:$hport" persistent-keepalive 25
	ip -n "$HNS" route add "$dst/32" dev "$hif"
	gw_wait_handshake host "$hif" 15
	SETUPS+=("$name")
}
if [[ -n $WGGO ]]; then
	wggo_pair wggo "wgh$LAB_OCTET" "wgg$LAB_OCTET" 201 51830 "$C_WG"
	if ((FALLBACK)); then
		# macOS's wireguard-go: utun has no offloads, so it reads and
		# writes one packet per call; here, a TUN device without the
		# virtio-net header makes it do the same (tests/tools/tunfd.c).
		wggo_pair wggo-pp "wph$LAB_OCTET" "wpg$LAB_OCTET" 202 51832 "$C_WGPP" "$TUNFD"
	fi
fi

for ((r = 1; r <= ROUNDS; r++)); do
	for s in "${SETUPS[@]}"; do
		# shellcheck disable=SC2086
		[[ -v GWENV[$s] ]] && gangway_restart ${GWENV[$s]}
		measure "$s" "$r"
	done
done

# ---- the table: medians over the rounds
median()	# SETUP METRIC
{
	local k vals=()
	for k in "${!R[@]}"; do
		[[ $k == "$1.$2."* && -n ${R[$k]} ]] && vals+=("${R[$k]}")
	done
	((${#vals[@]})) || return 0
	printf '%s\n' "${vals[@]}" | sort -g | awk '{a[NR] = $1} END {
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A M
for s in "${SETUPS[@]}"; do
	for m in tcp_up tcp_down udp_pps rtt cpu retr rss allocs; do
		M[$s.$m]=$(median "$s" "$m")
	done
done
for s in "${SETUPS[@]}"; do
	[[ $s == plain || -z ${M[$s.rtt]} || -z ${M[plain.rtt]} ]] && continue
	M[$s.added]=$(awk -v a="${M[$s.rtt]}" -v b="${M[plain.rtt]}" 'BEGIN { print a - b }')
done

fmt()	# METRIC VALUE
{
	[[ -n $2 ]] || { echo "-"; return; }
	case $1 in
	tcp_up|tcp_down) awk -v v="$2" 'BEGIN { printf "%.2f Gbit/s", v / 1e9 }' ;;
	udp_pps) awk -v v="$2" 'BEGIN { printf "%.0f kpkt/s", v / 1e3 }' ;;
	rtt|added) awk -v v="$2" 'BEGIN { printf "%.0f us", v }' ;;
	cpu) awk -v v="$2" 'BEGIN { printf "%.2f s/GB", v }' ;;
	retr) awk -v v="$2" 'BEGIN { printf "%.0f", v }' ;;
	rss) awk -v v="$2" 'BEGIN { printf "%.1f MiB", v / 1024 }' ;;
	allocs) awk -v v="$2" 'BEGIN { printf "%.3f /MB", v }' ;;
	esac
}

ratio()	# A B
{
	awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else print "-" }'
}

label()	# METRIC
{
	case $1 in
	tcp_up) echo "TCP host->container" ;;
	tcp_down) echo "TCP container->host" ;;
	udp_pps) echo "UDP 64 B delivered" ;;
	rtt) echo "ping round trip" ;;
	added) echo "latency added" ;;
	cpu) echo "tunnel CPU per GB" ;;
	retr) echo "TCP retransmits" ;;
	rss) echo "max RSS (one end)" ;;
	allocs) echo "heap allocations" ;;
	esac
}

table()
{
	local m s
	printf '%-24s' "measurement"
	for s in "${SETUPS[@]}"; do printf ' %14s' "$s"; done
	printf '\n'
	for m in tcp_up tcp_down udp_pps rtt added cpu retr rss allocs; do
		printf '%-24s' "$(label $m)"
		for s in "${SETUPS[@]}"; do printf ' %14s' "$(fmt $m "${M[$s.$m]:-}")"; done
		printf '\n'
	done
}

# Medians against a baseline's (wggo, or wggo-pp for the per-packet
# paths): above 1x is better for throughput and packet rate, below 1x for
# latency, CPU and memory.
ratio_table()	# BASE SETUP...
{
	local base=$1 m s
	shift
	printf '%-24s' "against $base"
	for s in "$@"; do printf ' %14s' "$s"; done
	printf '\n'
	for m in tcp_up tcp_down udp_pps added cpu retr rss; do
		printf '%-24s' "$(label $m)"
		for s in "$@"; do
			if [[ $m == retr ]]; then
				# a ratio to none means nothing: the counts side by side
				printf ' %14s' "$(fmt retr "${M[$s.retr]:-}") vs $(fmt retr "${M[$base.retr]:-}")"
			else
				printf ' %14s' "$(ratio "${M[$s.$m]:-}" "${M[$base.$m]:-}")"
			fi
		done
		printf '\n'
	done
}
has_setup() { [[ " ${SETUPS[*]} " == *" $1 "* ]]; }

# The medians as columns for the chart: "-" where there is none.
data()
{
	local s m
	echo "# setup tcp_up_gbit tcp_down_gbit udp_kpps added_us cpu_s_per_gb retransmits"
	for s in "${SETUPS[@]}"; do
		printf '%s' "$s"
		for m in tcp_up tcp_down udp_pps added cpu retr; do
			awk -v v="${M[$s.$m]:-}" -v m=$m 'BEGIN {
				if (v == "") { printf " -"; exit }
				if (m ~ /^tcp/) v /= 1e9; else if (m == "udp_pps") v /= 1e3
				printf " %.3f", v }'
		done
		printf '\n'
	done
}

mkdir -p "$(dirname "$OUT")"
{
	echo "gangway bench $(date -u +%Y-%m-%dT%H:%M:%SZ): $(nproc) cores, Linux $(uname -r)," \
	     "$ROUNDS round(s) of ${SECS}s per measurement, medians; load average" \
	     "$(cut -d' ' -f1-3 /proc/loadavg) at the end"
	for s in "${SETUPS[@]}"; do
		if [[ -n ${MODES[$s]:-} ]]; then echo "$s: ${MODES[$s]}"; fi
	done
	if has_setup wggo; then
		ver=$(cat "$(dirname "$WGGO")/../../VERSION" 2>/dev/null || "$WGGO" --version | head -1)
		echo "wggo: $WGGO ($ver)"
	fi
	echo
	table
	if has_setup wggo; then
		others=()
		for s in "${SETUPS[@]}"; do [[ $s == plain || $s == wggo ]] || others+=("$s"); done
		echo
		ratio_table wggo "${others[@]}"
	fi
	if has_setup wggo-pp; then
		# the paths macOS has (no offloads) against its wireguard-go
		echo
		ratio_table wggo-pp gw-plain gw-batch
	fi
} | tee "$OUT"
DAT=${OUT%.*}.dat
data >"$DAT"
if command -v gnuplot >/dev/null; then
	TITLE="$(date -u +%Y-%m-%d): $(nproc) cores, medians of $ROUNDS round(s) of ${SECS}s"
	gnuplot -e "dat='$DAT'; png='$(dirname "$OUT")/bench.png'; title='$TITLE'" tests/bench/chart.gp &&
		log "chart: $(dirname "$OUT")/bench.png"
fi

if ((SMOKE)); then
	for s in "${SETUPS[@]}"; do
		for m in tcp_up tcp_down udp_pps rtt; do
			lab_check "smoke: $s $m measured" \
				awk -v v="${M[$s.$m]:-0}" 'BEGIN { exit !(v > 0) }'
		done
	done
	lab_check "smoke: gangway ran its fast path" grep -q 'packet I/O fast' <<<"$MODE_FAST"
	lab_done
fi
