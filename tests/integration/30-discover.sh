#!/usr/bin/env bash
# Integration: discovery of Docker networks through rtnetlink (discover_linux.c)
#
# In the vm namespace, bridges named as Docker names them (docker0,
# br-<id>) with IPv4 and IPv6 addresses, a bridge whose name does not match
# (virbr0) and a dummy (or ifb) link whose name does (br-notbridge).
# build/tests/discover_watch prints the view each time it changes; the
# checks read its latest complete view. No Docker is needed.
#
#   1. the first view: exactly the right bridges, addresses and prefixes
#   2. changes show within 1 s: addresses, a new bridge (docker network
#      create), deletion, recreation under a new ifindex, renames, bridge
#      ports coming and going (AF_BRIDGE messages must not drop a bridge)
#   3. ExcludeInterfaces, ExcludePrefixes, IncludePrefixes, Bridges, by a
#      config reload (discover_resync) and by a fresh start
#   4. overrun: a watcher with a 4 KiB receive buffer is stopped while 1000
#      links and a new bridge appear and a bridge goes; once continued it
#      must report ENOBUFS, dump again and show the right view
#   5. churn: links coming and going while the watcher re-dumps; the view
#      must be right once it settles
#   6. the limits: one address and one bridge too many are left out, with
#      one warning, and come in when room is made
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh

WATCH=$(lab_build_dir)/tests/discover_watch
[[ -x $WATCH ]] || { echo "not built: $WATCH (run make tests)"; exit 1; }

MAX_BRIDGES=$(awk '$2 == "DISCOVER_MAX_BRIDGES" { print $3 }' include/discover.h)
MAX_ADDRS=$(awk '$2 == "DISCOVER_MAX_ADDRS" { print $3 }' include/discover.h)

lab_init
lab_up
lab_log "run $LAB_RUN"

vm() { ip -n "$LAB_VM_NS" "$@"; }
net4() { local s; s=$(lab_subnet4 "$1"); printf '%s\n' "${s%.0/24}"; }	# 10.O.K
net6() { local s; s=$(lab_subnet6 "$1"); printf '%s\n' "${s%::/64}"; }	# ULA:1xx
now_us() { printf '%s\n' "${EPOCHREALTIME/./}"; }
ifindex() { vm -j link show dev "$1" | _lab_json '.[0].ifindex' '[d[0]["ifindex"]]'; }

# The non-bridge links are dummies; kernels built without them get ifb,
# another kind with no bridge in it.
LINK_KIND=dummy
if ! vm link add "${LAB_RUN}k" type dummy 2>/dev/null; then
	LINK_KIND=ifb
	lab_log "no dummy links in this kernel: using $LINK_KIND links instead"
else
	vm link del "${LAB_RUN}k"
fi

KEY=$(head -c 32 /dev/urandom | base64)
# conf FILE: a config whose [Gangway] section is read from stdin.
conf()
{
	(umask 077; { printf '[Interface]\nPrivateKey = %s\n\n[Gangway]\n' "$KEY"; cat; } >"$1")
}

# The latest complete view in a watcher's log, without sequence numbers.
view_of()
{
	awk '$1 ~ /^[0-9]+$/ && NF >= 2 {
		if ($1 != seq) { seq = $1; cur = "" }
		if ($2 == "end") { out = cur; got = 1 }
		else { line = $0; sub(/^[0-9]+ /, "", line); cur = cur line "\n" }
	} END { printf "%s", out; exit !got }' "$1"
}

has_view() { view_of "$1" >/dev/null; }

# The view's prefixes must be exactly WANT (one per line, in order).
prefixes_are()
{
	local got

	got=$(view_of "$1" | sed -n 's/^prefix //p')
	[[ $got == "$2" ]] || { printf 'prefixes:\n%s\nwant:\n%s\n' "$got" "$2"; return 1; }
}

# The view's bridge lines must be exactly WANT.
bridges_are()
{
	local got

	got=$(view_of "$1" | grep '^bridge ' || true)
	[[ $got == "$2" ]] || { printf 'bridges:\n%s\nwant:\n%s\n' "$got" "$2"; return 1; }
}

# Predicates read the log on every call, so that lab_retry and within can
# poll them.
view_has() { view_of "$1" | lab_has_line "$2"; }
view_bridges() { view_of "$1" | awk '$1 == "bridge" { print $2 }' | sort; }
view_addrs() { view_of "$1" | awk -v b="$2" '$1 == "bridge" && $2 == b { for (i = 5; i <= NF; i++) print $i }'; }
n_is() { local n; n=$(wc -l); [[ $n == "$1" ]] || { echo "$n lines, want $1"; return 1; }; }
n_bridges_is() { view_bridges "$1" | n_is "$2"; }
n_addrs_is() { view_addrs "$1" "$2" | n_is "$3"; }
bridge_in_view() { view_bridges "$1" | lab_has_line "$2"; }
addr_in_view() { view_addrs "$1" "$2" | lab_has_line "$3"; }

# CMD... must succeed within MS milliseconds of T0 (microseconds).
within()
{
	local t0=$1 ms=$2
	shift 2

	while ! "$@" >/dev/null 2>&1; do
		if (( $(now_us) - t0 > ms * 1000 )); then
			echo "not within $ms ms:"
			"$@"
			return 1
		fi
		sleep 0.02
	done
	lab_log "  ($(( ($(now_us) - t0) / 1000 )) ms)"
}

lines() { printf '%s\n' "$@"; }

start_watch()	# NAME CONF [VAR=VALUE...]
{
	local name=$1 conf=$2
	shift 2
	lab_bg vm "$LAB_DIR/$name.log" env "$@" "$WATCH" -v -c "$conf" >/dev/null
	W_PID=$LAB_BG_PID
	lab_retry 5 has_view "$LAB_DIR/$name.log" ||
		{ cat "$LAB_DIR/$name.log"; lab_err "$name printed no view"; return 1; }
}

A1=$(net4 1) A2=$(net4 2) A3=$(net4 3) A4=$(net4 4) A5=$(net4 5) A6=$(net4 6)
A7=$(net4 7) A8=$(net4 8) A9=$(net4 9) A10=$(net4 10)
B1=$(net6 1) B2=$(net6 2) B3=$(net6 3) B5=$(net6 5) B6=$(net6 6) B9=$(net6 9)

# docker0 stays down, as Docker's does while no container is attached.
vm link add docker0 type bridge
vm addr add "$A1.1/24" dev docker0
vm addr add "$A1.2/24" dev docker0
vm addr add "$B1::1/64" dev docker0 nodad
vm link add br-abc123 type bridge
vm addr add "$A2.1/24" dev br-abc123
vm addr add "$B2::1/64" dev br-abc123 nodad
vm addr add fe80::1234/64 dev br-abc123 nodad
vm link set br-abc123 up
vm link add virbr0 type bridge
vm addr add "$A3.1/24" dev virbr0
vm addr add "$B3::1/64" dev virbr0 nodad
vm link add br-notbridge type "$LINK_KIND"
vm addr add "$A4.1/24" dev br-notbridge
vm link set br-notbridge up

echo "# 1. the first view"
conf "$LAB_DIR/default.conf" </dev/null
start_watch w1 "$LAB_DIR/default.conf"
W1=$W_PID
lab_check "prefixes: both bridges, both families, masked, sorted, once" \
	prefixes_are "$LAB_DIR/w1.log" "$(lines "$A1.0/24" "$A2.0/24" "$B1::/64" "$B2::/64")"
abc_if=$(ifindex br-abc123)
d0_if=$(ifindex docker0)
lab_check "bridges: down docker0 counts; no link-local, virbr0 or dummy" \
	bridges_are "$LAB_DIR/w1.log" "$(lines \
		"bridge br-abc123 $abc_if up $A2.1/24 $B2::1/64" \
		"bridge docker0 $d0_if down $A1.1/24 $A1.2/24 $B1::1/64")"

echo "# 2. changes, each within 1 s"
W1_LOG=$LAB_DIR/w1.log

t0=$(now_us); vm addr add "$A5.1/24" dev br-abc123
lab_check "an IPv4 address added to br-abc123 appears" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$(lines "$A1.0/24" "$A2.0/24" "$A5.0/24" "$B1::/64" "$B2::/64")"

t0=$(now_us); vm addr add "$B5::1/64" dev docker0 nodad
lab_check "an IPv6 address added to docker0 appears" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$(lines "$A1.0/24" "$A2.0/24" "$A5.0/24" "$B1::/64" "$B2::/64" "$B5::/64")"

t0=$(now_us); vm addr del "$A5.1/24" dev br-abc123
lab_check "the IPv4 address removed: its prefix goes" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$(lines "$A1.0/24" "$A2.0/24" "$B1::/64" "$B2::/64" "$B5::/64")"

# What `docker network create` does: a new bridge, then its gateway.
t0=$(now_us)
vm link add br-new456 type bridge
vm addr add "$A6.1/24" dev br-new456
vm addr add "$B6::1/64" dev br-new456 nodad
vm link set br-new456 up
lab_check "a new bridge with addresses (docker network create) appears" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$(lines "$A1.0/24" "$A2.0/24" "$A6.0/24" \
		"$B1::/64" "$B2::/64" "$B5::/64" "$B6::/64")"

t0=$(now_us); vm link del br-abc123
lab_check "br-abc123 deleted: its prefixes go" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$(lines "$A1.0/24" "$A6.0/24" "$B1::/64" "$B5::/64" "$B6::/64")"

t0=$(now_us)
vm link add br-abc123 type bridge
vm addr add "$A2.1/24" dev br-abc123
vm addr add "$B2::1/64" dev br-abc123 nodad
lab_check "br-abc123 recreated: its prefixes are back" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$(lines "$A1.0/24" "$A2.0/24" "$A6.0/24" \
		"$B1::/64" "$B2::/64" "$B5::/64" "$B6::/64")"
new_if=$(ifindex br-abc123)
lab_check "the kernel gave it a new ifindex ($new_if, was $abc_if)" test "$new_if" != "$abc_if"
lab_check "the view carries the new ifindex" \
	view_has "$W1_LOG" "bridge br-abc123 $new_if down $A2.1/24 $B2::1/64"

# Its addresses existed before the name matched. A rename announces the
# IPv4 ones again (recent kernels), not the IPv6 one: only a dump finds it.
t0=$(now_us); vm link set virbr0 name br-renamed
lab_check "virbr0 renamed to br-renamed: its old addresses count" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$(lines "$A1.0/24" "$A2.0/24" "$A3.0/24" "$A6.0/24" \
		"$B1::/64" "$B2::/64" "$B3::/64" "$B5::/64" "$B6::/64")"
t0=$(now_us); vm link set br-renamed name virbr0
lab_check "renamed back to virbr0: gone again" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$(lines "$A1.0/24" "$A2.0/24" "$A6.0/24" \
		"$B1::/64" "$B2::/64" "$B5::/64" "$B6::/64")"

t0=$(now_us); vm link set docker0 up
lab_check "docker0 set up: the view says so" within "$t0" 1000 \
	view_has "$W1_LOG" "bridge docker0 $d0_if up $A1.1/24 $A1.2/24 $B1::1/64 $B5::1/64"

# Ports joining and leaving send AF_BRIDGE link messages, RTM_DELLINK
# among them; the dummy gets addresses. None of it may change the view.
# An address on docker0 afterwards is the barrier: once it shows, the
# events before it have been read.
vm link add "${LAB_RUN}p1" type veth peer name "${LAB_RUN}p2"
vm link set "${LAB_RUN}p1" master br-new456 up
vm link set "${LAB_RUN}p2" up
vm link set "${LAB_RUN}p1" nomaster
vm link set "${LAB_RUN}p1" master br-new456
vm link del "${LAB_RUN}p1"
vm addr add "$A8.1/24" dev br-notbridge
t0=$(now_us); vm addr add "$A7.1/24" dev docker0
want=$(lines "$A1.0/24" "$A2.0/24" "$A6.0/24" "$A7.0/24" "$B1::/64" "$B2::/64" "$B5::/64" "$B6::/64")
lab_check "bridge ports and a dummy's addresses leave the view alone" within "$t0" 1000 \
	prefixes_are "$W1_LOG" "$want"
lab_check "br-new456 is still in the view after its port left" \
	view_has "$W1_LOG" "bridge br-new456 $(ifindex br-new456) up $A6.1/24 $B6::1/64"

echo "# 3. exclusions and inclusions"
conf "$LAB_DIR/excl.conf" <<EOF
Bridges = docker0, br-*, virbr*
ExcludeInterfaces = br-new*
# docker0's first networks, exactly; a /25 holds only half of virbr0's /24
ExcludePrefixes = $A1.0/24, $B1::/64, $A3.0/25
IncludePrefixes = $(net4 100).0/24, $A3.0/24
EOF
want_excl=$(lines "$A2.0/24" "$A3.0/24" "$A7.0/24" "$(net4 100).0/24" "$B2::/64" "$B3::/64" "$B5::/64")
start_watch w1b "$LAB_DIR/excl.conf"
W1B=$W_PID
lab_check "a watcher started with the exclusions shows the right prefixes" \
	lab_retry 5 prefixes_are "$LAB_DIR/w1b.log" "$want_excl"
lab_check "... and virbr0 but not br-new456" \
	bridges_are "$LAB_DIR/w1b.log" "$(lines \
		"bridge br-abc123 $new_if down $A2.1/24 $B2::1/64" \
		"bridge docker0 $d0_if up $A1.1/24 $A1.2/24 $A7.1/24 $B1::1/64 $B5::1/64" \
		"bridge virbr0 $(ifindex virbr0) down $A3.1/24 $B3::1/64")"
lab_kill "$W1B"

# The first watcher reads its config again on SIGHUP (discover_resync).
cp "$LAB_DIR/excl.conf" "$LAB_DIR/default.conf"
t0=$(now_us); kill -HUP "$W1"
lab_check "SIGHUP to the first watcher: the same view (discover_resync)" within "$t0" 2000 \
	prefixes_are "$W1_LOG" "$want_excl"
conf "$LAB_DIR/default.conf" </dev/null
t0=$(now_us); kill -HUP "$W1"
lab_check "SIGHUP with the defaults again: back to the earlier view" within "$t0" 2000 \
	prefixes_are "$W1_LOG" "$want"
lab_check "the first watcher has run all along" _lab_alive "$W1"
lab_kill "$W1"

echo "# 4. overrun: 1000 links while the watcher is stopped"
lab_check "the production gangwayd does not know GANGWAY_TEST_NL_RCVBUF" bash -c \
	"[ \$(strings '$(lab_build_dir)/gangwayd' | grep -c GANGWAY_TEST_NL_RCVBUF) = 0 ]"
start_watch w2 "$LAB_DIR/default.conf" GANGWAY_TEST_NL_RCVBUF=4096
W2=$W_PID
lab_check "the watcher took the small receive buffer" \
	grep -q "receive buffer 4096 bytes" "$LAB_DIR/w2.log"
kill -STOP "$W2"
# In a group of their own, so that one request deletes them all at once.
for i in $(seq 1 1000); do echo "link add gwd$i group 77 type $LINK_KIND"; done |
	vm -batch -
vm link add br-burst type bridge
vm addr add "$A9.1/24" dev br-burst
vm addr add "$B9::1/64" dev br-burst nodad
vm link del br-abc123
kill -CONT "$W2"
want=$(lines "$A1.0/24" "$A6.0/24" "$A7.0/24" "$A9.0/24" "$B1::/64" "$B5::/64" "$B6::/64" "$B9::/64")
lab_check "after SIGCONT: br-burst is in, br-abc123 out" \
	lab_retry 10 prefixes_are "$LAB_DIR/w2.log" "$want"
lab_check "the watcher saw ENOBUFS and dumped again" \
	grep -q "events lost (ENOBUFS), dumping" "$LAB_DIR/w2.log"
lab_check "bridges after the re-dump" \
	bridges_are "$LAB_DIR/w2.log" "$(lines \
		"bridge br-burst $(ifindex br-burst) down $A9.1/24 $B9::1/64" \
		"bridge br-new456 $(ifindex br-new456) up $A6.1/24 $B6::1/64" \
		"bridge docker0 $d0_if up $A1.1/24 $A1.2/24 $A7.1/24 $B1::1/64 $B5::1/64")"
t0=$(now_us); vm addr add "$A10.1/24" dev br-burst
want=$(lines "$A1.0/24" "$A6.0/24" "$A7.0/24" "$A9.0/24" "$A10.0/24" \
	"$B1::/64" "$B5::/64" "$B6::/64" "$B9::/64")
lab_check "events still arrive after the overrun" within "$t0" 1000 \
	prefixes_are "$LAB_DIR/w2.log" "$want"
vm link del group 77
vm addr del "$A10.1/24" dev br-burst
want=$(lines "$A1.0/24" "$A6.0/24" "$A7.0/24" "$A9.0/24" \
	"$B1::/64" "$B5::/64" "$B6::/64" "$B9::/64")
lab_check "1000 links deleted at once, then an address: right view" \
	lab_retry 5 prefixes_are "$LAB_DIR/w2.log" "$want"

echo "# 5. churn while the watcher re-dumps"
# Links come and go while the watcher (4 KiB buffer, so overruns and
# dumps) runs; a dump the kernel marks interrupted must be redone.
lab_bg vm "$LAB_DIR/churn.log" bash -c '
	end=$((SECONDS + 2))
	while ((SECONDS < end)); do
		for i in $(seq 1 100); do echo "link add gwc$i group 78 type $0"; done | ip -batch -
		ip link del group 78
	done' "$LINK_KIND" >/dev/null
CHURN=$LAB_BG_PID
for i in 1 2 3 4 5 6 7 8 9 10; do
	kill -HUP "$W2"
	sleep 0.1
done
wait "$CHURN" || true
vm link add br-last type bridge
vm addr add "$A8.1/24" dev br-last
want=$(lines "$A1.0/24" "$A6.0/24" "$A7.0/24" "$A8.0/24" "$A9.0/24" \
	"$B1::/64" "$B5::/64" "$B6::/64" "$B9::/64")
lab_check "after the churn the view is right" \
	lab_retry 5 prefixes_are "$LAB_DIR/w2.log" "$want"
lab_log "overruns seen: $(grep -c 'events lost' "$LAB_DIR/w2.log" || true)," \
	"interrupted dumps: $(grep -c 'NLE_DUMP_INTR' "$LAB_DIR/w2.log" || true)"
lab_check "the watcher still runs" _lab_alive "$W2"
lab_kill "$W2"

echo "# 6. limits: $MAX_ADDRS addresses per bridge, $MAX_BRIDGES bridges"
start_watch w3 "$LAB_DIR/default.conf"
W3=$W_PID
vm link add br-many type bridge
for i in $(seq 1 $((MAX_ADDRS + 1))); do
	vm addr add "$(net4 $((20 + i))).1/24" dev br-many
done
lab_check "one address too many: the view holds $MAX_ADDRS" \
	lab_retry 3 n_addrs_is "$LAB_DIR/w3.log" br-many "$MAX_ADDRS"
lab_check "... and a warning says so, once" \
	n_is 1 < <(grep "br-many has more than $MAX_ADDRS addresses" "$LAB_DIR/w3.log")
all=$(for i in $(seq 1 $((MAX_ADDRS + 1))); do echo "$(net4 $((20 + i))).1/24"; done)
left=$(comm -23 <(sort <<<"$all") <(view_addrs "$LAB_DIR/w3.log" br-many | sort))
first=$(view_addrs "$LAB_DIR/w3.log" br-many | head -n 1)
lab_check "exactly one address was left out" n_is 1 <<<"$left"
t0=$(now_us); vm addr del "$first" dev br-many
lab_check "one removed: the one left out ($left) takes its place" within "$t0" 1000 \
	addr_in_view "$LAB_DIR/w3.log" br-many "$left"

n=$(view_bridges "$LAB_DIR/w3.log" | wc -l)
for i in $(seq 1 $((MAX_BRIDGES + 1 - n))); do echo "link add br-l$i type bridge"; done |
	vm -batch -
lab_check "one bridge too many: the view holds $MAX_BRIDGES" \
	lab_retry 3 n_bridges_is "$LAB_DIR/w3.log" "$MAX_BRIDGES"
lab_check "... and a warning says so, once" \
	n_is 1 < <(grep "more than $MAX_BRIDGES bridges match" "$LAB_DIR/w3.log")
left=$(comm -23 <(lab_links vm | grep -E '^(docker0|br-)' | grep -v br-notbridge | sort) \
	<(view_bridges "$LAB_DIR/w3.log"))
lab_check "exactly one bridge was left out" n_is 1 <<<"$left"
t0=$(now_us); vm link del br-l1
lab_check "one deleted: the one left out ($left) takes its place" within "$t0" 1000 \
	bridge_in_view "$LAB_DIR/w3.log" "$left"
lab_kill "$W3"
lab_check "no sanitizer or runtime error in any watcher log" \
	bash -c "! grep -E 'Sanitizer|runtime error' $LAB_DIR/w*.log"
lab_done
