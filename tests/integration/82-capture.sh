#!/usr/bin/env bash
# `gangway capture` while the host fetches a page from a container: by
# default the daemon taps its own packet path (control socket request
# "capture"); with a BPF filter, the pcap (file and streamed to tcpdump)
# opens with tcpdump and holds the exchange and nothing the filter
# excludes; line output (through the daemon on both sides, and libpcap on
# an interface with -i); count and size/rotation limits. Readers that stop
# reading (the CLI's own reader, and a raw client that never reads) never
# hold up forwarding while the daemon counts capture-overflow; a third capture is refused; a reader killed leaves the
# daemon running and a new capture works. A capture into a full 1 MiB tmpfs
# stops with an error while traffic goes on.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
printf 'StateDirectory = %s/gstate\nBridges = %sb*\n' "$LAB_DIR" "$LAB_RUN" >>"$LAB_DIR/guest.conf"
gw_pair_start
lab_check "the host reaches the container" gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"
# A web server in the container.
mkdir -p "$LAB_DIR/www"
echo "hello from $CIP" >"$LAB_DIR/www/index.html"
lab_bg c1 "$LAB_DIR/http.log" python3 -m http.server -d "$LAB_DIR/www" -b "$CIP" 8080 >/dev/null
lab_retry 10 bash -c "ip netns exec $(lab_ns c1) ss -ltn | grep -q ':8080 '"

cap() { lab_exec "$1" "$GW_GANGWAY" capture "${@:2}"; }
fetch() { lab_exec host curl -s --max-time 5 "http://$CIP:8080/index.html"; }
GSOCK=$LAB_DIR/gstate/$GUEST_IF.sock
# A value from the guest daemon's JSON status, by jq path.
gstat() { "$GW_GANGWAY" status -j -c "$LAB_DIR/guest.conf" | jq -r "$1"; }
export -f gstat
export GW_GANGWAY LAB_DIR

# In the VM, in the daemon (default: the configuration's), a filter that
# keeps TCP port 8080 only, while pings also cross the tunnel.
PCAP=$LAB_DIR/guest.pcap
lab_check "no capture attached at first, nothing counted" bash -c \
	"[ \$(gstat .capture.clients) = 0 ] && [ \$(gstat .capture.packets) = 0 ] &&
	 [ \$(gstat '.device_drops[\"capture-overflow\"]') = 0 ]"
lab_bg vm "$LAB_DIR/cap1.log" "$GW_GANGWAY" capture --config "$LAB_DIR/guest.conf" \
	-w "$PCAP" -d 20 tcp port 8080 >/dev/null
CAP_PID=$LAB_BG_PID
lab_check "the capture starts in the daemon" gw_wait_log "$LAB_DIR/cap1.log" "listening on $GUEST_IF (RAW) in the daemon" 5
lab_check "...which has it attached, with its filter" bash -c \
	"[ \$(gstat .capture.clients) = 1 ] && grep -q \"Capture attached: snaplen 262144, filter 'tcp port 8080'\" '$LAB_DIR/guest.log'"
lab_exec host ping -c 3 -i 0.2 -W 1 "$CIP" >/dev/null
lab_check "the host fetches the page during the capture" bash -c \
	"[ \"\$(ip netns exec $(lab_ns host) curl -s --max-time 5 http://$CIP:8080/index.html)\" = 'hello from $CIP' ]"
sleep 0.5
kill -INT "$CAP_PID"
lab_retry 5 bash -c "! kill -0 $CAP_PID 2>/dev/null"
lab_check "the capture ends cleanly on SIGINT and reports its counts" \
	grep -qE "[1-9][0-9]* packet\(s\) written, 0 dropped by the daemon" "$LAB_DIR/cap1.log"
lab_check "...and the daemon detaches it" gw_until 15 bash -c \
	"[ \$(gstat .capture.clients) = 0 ] && [ \$(gstat .capture.packets) -gt 5 ]"
lab_check "tcpdump opens the pcap" tcpdump -n -r "$PCAP"
lab_check "it holds the handshake: SYN from the host to the container" bash -c \
	"tcpdump -n -r '$PCAP' 'src $TH and dst $CIP and tcp[tcpflags] & tcp-syn != 0' 2>/dev/null | grep -q ."
lab_check "...the request and the container's answer" bash -c \
	"tcpdump -n -A -r '$PCAP' 2>/dev/null | grep -q 'GET /index.html' &&
	 tcpdump -n -A -r '$PCAP' 2>/dev/null | grep -q 'hello from $CIP'"
lab_check "...and nothing the filter excludes (no ICMP, only port 8080)" bash -c \
	"[ \$(tcpdump -n -r '$PCAP' 2>/dev/null | wc -l) -gt 5 ] &&
	 [ \$(tcpdump -n -r '$PCAP' 'not tcp port 8080' 2>/dev/null | wc -l) -eq 0 ]"

# -w - streams pcap into tcpdump -r -; -c stops after that many packets.
lab_bg vm "$LAB_DIR/cap2.log" bash -c "'$GW_GANGWAY' capture --config '$LAB_DIR/guest.conf' -c 4 -w - icmp 2>'$LAB_DIR/cap2.err' | tcpdump -n -r - >'$LAB_DIR/cap2.txt' 2>/dev/null" >/dev/null
CAP_PID=$LAB_BG_PID
gw_wait_log "$LAB_DIR/cap2.err" "listening on" 5
lab_exec host ping -c 4 -i 0.2 -W 1 "$CIP" >/dev/null
lab_check "-w - | tcpdump -r - works and -c 4 stops after 4 packets" gw_until 5 bash -c \
	"! kill -0 $CAP_PID 2>/dev/null && [ \$(grep -c 'ICMP echo' '$LAB_DIR/cap2.txt') -eq 4 ]"

# A ping's request and reply, each as one line of output in file $1.
ping_lines()
{
	grep -qE "^[0-9:.]+ $TH > $CIP: ICMP type 8 code 0, length 84\$" "$1" &&
		grep -qE "^[0-9:.]+ $CIP > $TH: ICMP type 0 code 0, length 84\$" "$1"
}

# One line a packet, on the host's tunnel device named with -i.
lab_bg host "$LAB_DIR/cap3.txt" "$GW_GANGWAY" capture -i "$HOST_IF" -c 2 icmp >/dev/null
CAP_PID=$LAB_BG_PID
gw_wait_log "$LAB_DIR/cap3.txt" "listening on" 5
lab_exec host ping -c 1 -W 1 "$CIP" >/dev/null
lab_check "line output names addresses and protocol, both ways" \
	gw_until 5 ping_lines "$LAB_DIR/cap3.txt"
# The same through the host agent's own tap (its configuration, no -i).
lab_bg host "$LAB_DIR/cap3h.txt" "$GW_GANGWAY" capture --config "$LAB_DIR/host.conf" -c 2 icmp >/dev/null
CAP_PID=$LAB_BG_PID
gw_wait_log "$LAB_DIR/cap3h.txt" "listening on $HOST_IF (RAW) in the daemon" 5
lab_exec host ping -c 1 -W 1 "$CIP" >/dev/null
lab_check "...and through the host agent's tap" gw_until 5 ping_lines "$LAB_DIR/cap3h.txt"

lab_check_fail "a bad filter is refused" cap vm --config "$LAB_DIR/guest.conf" -c 1 "tcp port nonsense"
lab_check "...by the daemon, with libpcap's reason" bash -c \
	"ip netns exec $(lab_ns vm) '$GW_GANGWAY' capture --config '$LAB_DIR/guest.conf' -c 1 tcp port nonsense 2>&1 |
	 grep -E 'the daemon refused: bad filter: .*nonsense'"
lab_check_fail "an unknown interface is refused" cap vm -i nosuchif0 -c 1

# Size rotation: -C 1 -W 3 keeps three files of at most ~1 MB.
lab_bg vm "$LAB_DIR/cap4.log" "$GW_GANGWAY" capture --config "$LAB_DIR/guest.conf" \
	-w "$LAB_DIR/rot.pcap" -C 1 -W 3 -d 30 >/dev/null
CAP_PID=$LAB_BG_PID
gw_wait_log "$LAB_DIR/cap4.log" "listening on" 5
lab_check "3 MiB cross the tunnel during a rotating capture" gw_transfer host c1 "$CIP" 9000 3
kill -INT "$CAP_PID"
lab_retry 5 bash -c "! kill -0 $CAP_PID 2>/dev/null"
lab_check "rotation made rot.pcap, rot.pcap.1, rot.pcap.2 and no more" bash -c \
	"ls '$LAB_DIR'/rot.pcap*; [ \$(ls '$LAB_DIR'/rot.pcap* | wc -l) -eq 3 ]"
lab_check "...each at most 1 MB and readable by tcpdump" bash -c \
	"for f in '$LAB_DIR'/rot.pcap*; do [ \$(stat -c %s \$f) -le 1000000 ] && tcpdump -n -r \$f >/dev/null 2>&1 || exit 1; done"

# Readers that stop reading, two at once: the CLI's (its stdout is a FIFO
# nobody reads) and a raw client that asks for a capture and never reads.
# The daemon drops their packets and counts them (capture-overflow), and
# forwarding never waits for a reader: with two stalled captures attached,
# 48 MiB cross intact each time (a daemon that blocked on a full reader
# would stall the transfer until nc's timeout). The times, with and without
# the stalled captures, are reported for the record; they are not asserted,
# since this machine's load drifts (speed is `make bench`'s to measure).
xfer_ms() {
	local t0 t1
	t0=$(date +%s%N)
	gw_transfer host c1 "$CIP" "$1" 48 >/dev/null || return 1
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 )) >"$LAB_DIR/xfer-$1.ms"
}
stall_on() {
	local fifo=$LAB_DIR/stall$1.fifo
	mkfifo "$fifo"
	lab_bg vm "$LAB_DIR/stall-reader$1.log" python3 -c "import time; f = open('$fifo', 'rb'); time.sleep(300)" >/dev/null
	READER_PID=$LAB_BG_PID
	CAP_LOG=$LAB_DIR/cap6-$1.log
	lab_bg vm "$CAP_LOG" bash -c "exec '$GW_GANGWAY' capture --config '$LAB_DIR/guest.conf' -w - >'$fifo'" >/dev/null
	CAP_PID=$LAB_BG_PID
	gw_wait_log "$CAP_LOG" "listening on" 10 || true
	lab_bg vm "$LAB_DIR/raw.log" python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'capture\\n')
time.sleep(300)" "$GSOCK" >/dev/null
	RAW_PID=$LAB_BG_PID
}
stall_off() {
	kill -INT "$CAP_PID"
	kill -KILL "$RAW_PID" "$READER_PID"
	wait "$RAW_PID" "$READER_PID" 2>/dev/null || true
	gw_until 15 bash -c "! kill -0 $CAP_PID 2>/dev/null && [ \$(gstat .capture.clients) = 0 ]" || true
}
ms() { cat "$LAB_DIR/xfer-$1.ms" 2>/dev/null || echo "-"; }
for r in 1 2 3; do
	lab_check "48 MiB cross intact without a capture (round $r)" xfer_ms $((9100 + r))
	stall_on "$r"
	lab_check "two stalled captures attached (round $r)" gw_until 15 bash -c \
		"[ \$(gstat .capture.clients) = 2 ]"
	lab_check "...and 48 MiB still cross intact (round $r)" xfer_ms $((9110 + r))
	lab_check "...and a ping crosses (round $r)" lab_exec host ping -c 1 -W 2 "$CIP"
	echo "# round $r, 48 MiB: $(ms $((9100 + r))) ms without capture, $(ms $((9110 + r))) ms with two stalled captures"
	[ "$r" = 3 ] || stall_off
done
lab_check "a third capture is refused as one too many" bash -c \
	"out=\$(ip netns exec $(lab_ns vm) '$GW_GANGWAY' capture --config '$LAB_DIR/guest.conf' -c 1 2>&1); rc=\$?
	 echo \"\$out\"; [ \$rc = 1 ] && grep -q 'the daemon refused: too many captures' <<<\"\$out\""
lab_check "the daemon counted what it could not hand over as capture-overflow" bash -c \
	"gstat .device_drops; [ \$(gstat '.device_drops[\"capture-overflow\"]') -gt 1000 ]"
lab_check "...in the text status and the Prometheus metrics too" bash -c \
	"'$GW_GANGWAY' status -c '$LAB_DIR/guest.conf' | grep -E 'dropped \\(capture\\) capture-overflow: [1-9]' &&
	 '$GW_GANGWAY' status --prometheus -c '$LAB_DIR/guest.conf' |
	 grep -E '^gangway_device_drops_total\\{.*reason=\"capture-overflow\"\\} [1-9]'"
kill -INT "$CAP_PID"
lab_check "the stalled capture stops on SIGINT" gw_until 5 bash -c "! kill -0 $CAP_PID 2>/dev/null"
lab_check "...and reports the packets the daemon dropped" bash -c \
	"cat '$CAP_LOG'; grep -qE 'packet\\(s\\) written, [1-9][0-9]* dropped by the daemon' '$CAP_LOG'"

# The raw reader vanishes (killed): the daemon detaches it and lives on,
# and a new capture works.
kill -KILL "$RAW_PID"
lab_check "a killed reader is detached" gw_until 15 bash -c "[ \$(gstat .capture.clients) = 0 ]"
lab_check "...and the guest daemon still runs" kill -0 "$GUEST_PID"
lab_bg vm "$LAB_DIR/cap7.txt" "$GW_GANGWAY" capture --config "$LAB_DIR/guest.conf" -c 2 icmp >/dev/null
CAP_PID=$LAB_BG_PID
gw_wait_log "$LAB_DIR/cap7.txt" "listening on" 5
lab_exec host ping -c 1 -W 1 "$CIP" >/dev/null
lab_check "a new capture works: the echo and its reply" gw_until 5 bash -c \
	"! kill -0 $CAP_PID 2>/dev/null && [ \$(grep -c ': ICMP type' '$LAB_DIR/cap7.txt') -eq 2 ]"

# A capture into a 1 MiB tmpfs: it stops with an error; traffic goes on.
mkdir -p "$LAB_DIR/small"
mount -t tmpfs -o size=1m tmpfs "$LAB_DIR/small"
lab_on_cleanup umount "$LAB_DIR/small"
lab_bg vm "$LAB_DIR/cap5.log" "$GW_GANGWAY" capture --config "$LAB_DIR/guest.conf" \
	-w "$LAB_DIR/small/full.pcap" -d 60 >/dev/null
CAP_PID=$LAB_BG_PID
gw_wait_log "$LAB_DIR/cap5.log" "listening on" 5
lab_check "4 MiB cross the tunnel while the capture fills the disk" gw_transfer host c1 "$CIP" 9001 4
lab_check "the capture stopped with a disk-full error" gw_until 5 bash -c \
	"! kill -0 $CAP_PID 2>/dev/null && grep -q 'cannot write the capture: No space left on device' '$LAB_DIR/cap5.log'"
lab_check "...and traffic is unaffected afterwards" fetch
lab_check "both daemons still run" kill -0 "$HOST_PID" "$GUEST_PID"
lab_done
