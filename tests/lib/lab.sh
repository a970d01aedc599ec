# lab.sh - disposable test networks built from network namespaces (bash library)
#
# Source it from a bash script; `set -euo pipefail` is fine.  Every name a run
# creates starts with the run id ($LAB_RUN, "gw" and 5 hex digits), and every
# namespace, background process, directory and cleanup step is written to a
# ledger under $LAB_DIR, so one trap removes it all and several runs can share
# the machine at the same time.
#
# Topology after lab_init + lab_up:
#
#   ns "host" (plays the Mac)              ns "vm" (plays the Docker VM)
#   $LAB_HOST_IF  192.168.X.1/24  <-veth->  $LAB_VM_IF  192.168.X.2/24
#                 ULA:1::1/64                           ULA:1::2/64
#   no default route, no route to          default routes via the host,
#   any container subnet                   forwarding on, lab bridges and
#                                          "containers" (or a real dockerd)
#
# Functions:
#   lab_init                    run id, $LAB_DIR, cleanup trap on EXIT/INT/TERM/HUP
#   lab_up                      the host and vm namespaces and the uplink
#   lab_ns_add NAME             one more namespace (loopback up, no DAD)
#   lab_ns NAME                 print the netns name of NAME ("host", "vm", ...)
#   lab_bridge_add NAME SUBNET4 [SUBNET6]
#                               Linux bridge in vm; gateway = first address of
#                               each subnet (SUBNET6 must end in "::/LEN")
#   lab_container_add NAME BRIDGE IP4 [IP6]
#                               namespace NAME with eth0 on BRIDGE, default
#                               routes via the bridge's gateway addresses
#   lab_bridge_if NAME / lab_container_if NAME
#                               the vm-side interface of a bridge / container
#   lab_exec NS CMD...          run CMD in NS (ip netns exec)
#   lab_bg NS LOG CMD...        start CMD in NS in the background, output to
#                               LOG; records it for cleanup, prints its pid and
#                               sets $LAB_BG_PID (when not called inside $(...))
#   lab_kill PID [SIG [SECS]]   signal PID (TERM), wait up to SECS (5) until it
#                               is gone, then KILL it
#   lab_record_pid PID          have cleanup stop PID too (started otherwise)
#   lab_pid_in_ns PID NS        true if PID lives in namespace NS
#   lab_on_cleanup CMD...       run CMD during cleanup (last registered, first run)
#   lab_ledger KIND VALUE...    record something lab_leftovers must find gone
#                               (kinds: file, dir, cgroup, pattern)
#   lab_cleanup                 remove everything of this run (the trap calls it)
#   lab_reap_stale              clean up runs whose shell was killed before its
#                               trap could run (lab_init calls it; LAB_REAP=0
#                               turns that off)
#   lab_leftovers [FILE]        print what of a run still exists; returns 1 if
#                               anything does.  FILE is a ledger that cleanup
#                               wrote to $LAB_LEDGER_OUT (for runs in a subshell)
#   lab_subnet4 K, lab_subnet6 K
#                               per-run subnets for tests: 10.O.K.0/24 and
#                               ULA:1xx::/64 (K = 1..127; docker.sh uses the rest)
#   lab_ip_in SUBNET4 ADDR      true if ADDR lies in SUBNET4
#   lab_retry SECS CMD...       run CMD until it succeeds or SECS have passed
#   lab_http NS URL [SECS]      print the body busybox wget gets from URL in NS
#   lab_ping NS ADDR            one echo request from NS (IPv4 or IPv6)
#   lab_links NS / lab_addrs NS IF / lab_routes NS [4|6] / lab_route_dev NS DST
#                               topology queries through `ip -j` (jq, else python3)
#   lab_build_dir               absolute $BUILD (default build) of the repository
#   lab_check DESC CMD...       assertion: CMD must succeed (prints ok/not ok)
#   lab_check_fail DESC CMD...  assertion: CMD must fail
#   lab_check_clean DESC LEDGER assertion: lab_leftovers finds nothing
#   lab_has_line, lab_body_is, lab_no_route, lab_sysctl_is, lab_gone
#                               predicates for lab_check that explain failures
#   lab_done                    summary line; returns 1 if any check failed
#   lab_reset_checks            start counting checks from zero
#
# A dockerd started by docker.sh sets the vm's FORWARD policy to DROP, which
# also applies to traffic routed into lab bridges, as on a real VM.
#
# Variables after lab_up: LAB_RUN LAB_DIR LAB_HOST_NS LAB_VM_NS LAB_HOST_IF
# LAB_VM_IF LAB_HOST_IP4 LAB_VM_IP4 LAB_HOST_IP6 LAB_VM_IP6 (no prefix length),
# LAB_UPLINK4 LAB_UPLINK6 (the uplink subnets), LAB_OCTET LAB_ULA48.
#
# Environment: LAB_KEEP=1 keeps $LAB_DIR (logs) after cleanup; LAB_LEDGER_OUT
# names a file that cleanup fills with the run's ledger; BUILD (default
# "build") is where cached artifacts go, relative to the repository root.
#
# lab_init replaces the script's EXIT trap; add steps with lab_on_cleanup.
# Long waits inside a lab script should be `wait` on a lab_bg process, not a
# foreground sleep: bash runs the TERM trap only once the foreground command
# returns.

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_LIB_DIR/../.." && pwd)
LAB_PASS=${LAB_PASS:-0}
LAB_FAIL=${LAB_FAIL:-0}
LAB_CHECKS=${LAB_CHECKS:-0}

lab_log() { printf '# %s\n' "$*"; }
lab_err() { printf 'lab: %s\n' "$*" >&2; }

# Absolute path of the build directory, where cached artifacts live.
lab_build_dir()
{
	local b=${BUILD:-build}

	[[ $b == /* ]] || b=$LAB_REPO/$b
	printf '%s\n' "$b"
}

# ---------------------------------------------------------------- run setup

lab_init()
{
	local n id dir='' try me=$BASHPID

	[[ $EUID -eq 0 ]] || { lab_err "needs root (network namespaces)"; return 1; }
	[[ ${LAB_REAP:-1} == 0 ]] || lab_reap_stale
	for try in 1 2 3 4 5 6 7 8 9 10; do
		# The pid keeps two runs (or two subshells of one script) apart
		# even if their RANDOM seeds agree; the mkdir is the atomic claim.
		n=$(( ((RANDOM << 15 | RANDOM) ^ (BASHPID * 40503 + try)) & 0xfffff ))
		id=$(printf 'gw%05x' "$n")
		compgen -G "/run/netns/$id-*" >/dev/null && continue
		if mkdir -m 0755 "${TMPDIR:-/tmp}/$id.lab" 2>/dev/null; then
			dir=${TMPDIR:-/tmp}/$id.lab
			break
		fi
	done
	[[ -n $dir ]] || { lab_err "cannot claim a run id"; return 1; }

	LAB_RUN=$id
	LAB_NUM=$n
	LAB_DIR=$dir
	LAB_STATE=$dir/.lab
	_LAB_CLEANED=''
	LAB_LEDGER=''
	mkdir "$LAB_STATE"
	: >"$LAB_STATE/ledger"
	: >"$LAB_STATE/hooks"
	echo 0 >"$LAB_STATE/index"
	trap lab_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	lab_ledger run "$LAB_RUN"
	lab_ledger dir "$LAB_DIR"
	# The shell holding the trap; if it dies unseen (SIGKILL), the next
	# lab_init cleans up after it (lab_reap_stale).
	lab_ledger owner "$me" "$(_lab_starttime "$me")"

	# Per-run numbers, so parallel runs differ even in what they print.
	LAB_OCTET=$(( 64 + n % 128 ))
	LAB_UPLINK_X=$(( 1 + (n >> 7) % 254 ))
	LAB_ULA48=$(printf 'fd%02x:%x:6777' $(( n >> 16 )) $(( n & 0xffff )))
}

lab_ledger()
{
	printf '%s\n' "$*" >>"$LAB_STATE/ledger"
}

lab_on_cleanup()
{
	local q

	printf -v q '%q ' "$@"
	printf '%s\n' "$q" >>"$LAB_STATE/hooks"
}

_lab_next_index()
{
	local i

	i=$(<"$LAB_STATE/index")
	echo $(( i + 1 )) >"$LAB_STATE/index"
	printf '%s\n' $(( i + 1 ))
}

lab_subnet4() { printf '10.%d.%d.0/24\n' "$LAB_OCTET" "$1"; }
lab_subnet6() { printf '%s:%x::/64\n' "$LAB_ULA48" $(( 0x100 + $1 )); }

# ---------------------------------------------------------------- addresses

_lab_ip4_int()
{
	local IFS=. a b c d

	read -r a b c d <<<"$1"
	printf '%s\n' $(( (a << 24) | (b << 16) | (c << 8) | d ))
}

_lab_int_ip4()
{
	printf '%d.%d.%d.%d\n' $(( $1 >> 24 & 255 )) $(( $1 >> 16 & 255 )) \
		$(( $1 >> 8 & 255 )) $(( $1 & 255 ))
}

# First host address of an IPv4 subnet: the gateway of a lab bridge.
_lab_ip4_first()
{
	local net=${1%/*} len=${1#*/} n mask

	n=$(_lab_ip4_int "$net")
	mask=$(( len ? (0xffffffff << (32 - len)) & 0xffffffff : 0 ))
	_lab_int_ip4 $(( (n & mask) + 1 ))
}

lab_ip_in()
{
	local net=${1%/*} len=${1#*/} a b mask

	a=$(_lab_ip4_int "$net")
	b=$(_lab_ip4_int "${2%/*}")
	mask=$(( len ? (0xffffffff << (32 - len)) & 0xffffffff : 0 ))
	(( (a & mask) == (b & mask) ))
}

# ---------------------------------------------------------------- namespaces

lab_ns()
{
	[[ -n ${1:-} ]] || { lab_err "lab_ns: no name"; return 1; }
	if [[ $1 == "$LAB_RUN"-* ]]; then
		printf '%s\n' "$1"
	else
		printf '%s\n' "$LAB_RUN-$1"
	fi
}

lab_ns_add()
{
	local full

	full=$(lab_ns "$1")
	ip netns add "$full"
	lab_ledger netns "$full" "$(stat -L -c %i "/run/netns/$full")"
	ip -n "$full" link set lo up
	# Addresses are usable at once: no duplicate address detection.
	ip netns exec "$full" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_dad=0
}

lab_exec()
{
	local ns

	ns=$(lab_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

lab_up()
{
	local x=$LAB_UPLINK_X

	lab_ns_add host
	lab_ns_add vm
	LAB_HOST_NS=$LAB_RUN-host
	LAB_VM_NS=$LAB_RUN-vm
	LAB_HOST_IF=$LAB_RUN-tovm
	LAB_VM_IF=$LAB_RUN-tohost
	LAB_UPLINK4=192.168.$x.0/24
	LAB_UPLINK6=$LAB_ULA48:1::/64
	LAB_HOST_IP4=192.168.$x.1
	LAB_VM_IP4=192.168.$x.2
	LAB_HOST_IP6=$LAB_ULA48:1::1
	LAB_VM_IP6=$LAB_ULA48:1::2

	# Created straight inside the namespaces: no name ever appears in
	# the root namespace, even for a moment.
	ip link add name "$LAB_HOST_IF" netns "$LAB_HOST_NS" type veth \
		peer name "$LAB_VM_IF" netns "$LAB_VM_NS"
	ip -n "$LAB_HOST_NS" addr add "$LAB_HOST_IP4/24" dev "$LAB_HOST_IF"
	ip -n "$LAB_HOST_NS" addr add "$LAB_HOST_IP6/64" dev "$LAB_HOST_IF" nodad
	ip -n "$LAB_VM_NS" addr add "$LAB_VM_IP4/24" dev "$LAB_VM_IF"
	ip -n "$LAB_VM_NS" addr add "$LAB_VM_IP6/64" dev "$LAB_VM_IF" nodad
	ip -n "$LAB_HOST_NS" link set "$LAB_HOST_IF" up
	ip -n "$LAB_VM_NS" link set "$LAB_VM_IF" up

	# The vm reaches the host (host.docker.internal); the host has only
	# its connected uplink route, as a Mac has none into the VM.
	ip -n "$LAB_VM_NS" route add default via "$LAB_HOST_IP4"
	ip -n "$LAB_VM_NS" -6 route add default via "$LAB_HOST_IP6"
	ip netns exec "$LAB_VM_NS" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1
}

# Bridge state is kept in files so that lab_container_add works from any
# subshell of the run.
lab_bridge_add()
{
	local name=$1 sub4=$2 sub6=${3:-} idx br gw4 gw6=

	[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || { lab_err "bad bridge name '$name'"; return 1; }
	[[ ! -e $LAB_STATE/bridge.$name ]] || { lab_err "bridge $name exists"; return 1; }
	idx=$(_lab_next_index)
	br=${LAB_RUN}b$idx
	gw4=$(_lab_ip4_first "$sub4")
	ip -n "$LAB_VM_NS" link add name "$br" type bridge
	ip -n "$LAB_VM_NS" addr add "$gw4/${sub4#*/}" dev "$br"
	if [[ -n $sub6 ]]; then
		[[ ${sub6%/*} == *:: ]] || { lab_err "SUBNET6 must end in ::/LEN"; return 1; }
		gw6=${sub6%/*}1
		ip -n "$LAB_VM_NS" addr add "$gw6/${sub6#*/}" dev "$br" nodad
	fi
	ip -n "$LAB_VM_NS" link set "$br" up
	printf 'br=%s gw4=%s len4=%s gw6=%s len6=%s\n' "$br" "$gw4" "${sub4#*/}" \
		"$gw6" "${sub6#*/}" >"$LAB_STATE/bridge.$name"
}

# Prints the vm-side interface name of the bridge NAME.
lab_bridge_if()
{
	local br gw4 len4 gw6 len6

	read -r br gw4 len4 gw6 len6 <"$LAB_STATE/bridge.$1" || return 1
	printf '%s\n' "${br#br=}"
}

lab_container_add()
{
	local name=$1 bridge=$2 ip4=${3%/*} ip6=${4:-} full veth idx
	local br gw4 len4 gw6 len6

	[[ $name =~ ^[A-Za-z0-9_.-]+$ && $name != host && $name != vm ]] ||
		{ lab_err "bad container name '$name'"; return 1; }
	[[ -r $LAB_STATE/bridge.$bridge ]] || { lab_err "no bridge $bridge"; return 1; }
	read -r br gw4 len4 gw6 len6 <"$LAB_STATE/bridge.$bridge"
	br=${br#br=} gw4=${gw4#gw4=} len4=${len4#len4=} gw6=${gw6#gw6=} len6=${len6#len6=}

	lab_ns_add "$name"
	full=$(lab_ns "$name")
	idx=$(_lab_next_index)
	veth=${LAB_RUN}c$idx
	ip link add name "$veth" netns "$LAB_VM_NS" type veth peer name eth0 netns "$full"
	printf '%s\n' "$veth" >"$LAB_STATE/container.$name"
	ip -n "$LAB_VM_NS" link set "$veth" master "$br" up
	ip -n "$full" addr add "$ip4/$len4" dev eth0
	ip -n "$full" link set eth0 up
	ip -n "$full" route add default via "$gw4"
	if [[ -n $ip6 ]]; then
		[[ -n $gw6 ]] || { lab_err "bridge $bridge has no IPv6"; return 1; }
		ip -n "$full" addr add "${ip6%/*}/$len6" dev eth0 nodad
		ip -n "$full" -6 route add default via "$gw6"
	fi
}

# Prints the vm-side veth of the container NAME.
lab_container_if()
{
	cat "$LAB_STATE/container.$1"
}

# ---------------------------------------------------------------- processes

# /proc files are read with `read`: under set -e, bash 5.2 exits outright
# when $(<file) finds the file gone, even in a || list.
#
# Start time of a process in clock ticks (field 22 of /proc/PID/stat): with
# the pid it names one process, so cleanup never signals a recycled pid.
_lab_starttime()
{
	local s

	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	printf '%s\n' "${20}"
}

# True while PID runs (a zombie counts as gone); with START, only if it is
# still the same process.
_lab_alive()
{
	local s

	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	[[ ${s:0:1} != Z ]] || return 1
	[[ -z ${2:-} ]] || [[ $(_lab_starttime "$1") == "$2" ]]
}

lab_record_pid()
{
	local start

	start=$(_lab_starttime "$1") || start=0
	lab_ledger pid "$1" "$start"
}

lab_bg()
{
	local ns log=$2 pid i

	ns=$(lab_ns "$1")
	shift 2
	ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
	pid=$!
	lab_record_pid "$pid"
	# Return once the process is inside the namespace (or has exited), so
	# that callers never see it half way.
	for ((i = 0; i < 200; i++)); do
		[[ /proc/$pid/ns/net -ef /run/netns/$ns ]] && break
		_lab_alive "$pid" || break
		sleep 0.01
	done
	LAB_BG_PID=$pid
	printf '%s\n' "$pid"
}

# All descendants of the given pids, one per line.
_lab_descendants()
{
	local -A kids=()
	local p pp queue=("$@") cur

	while read -r p pp; do
		kids[$pp]+="$p "
	done < <(ps -e -o pid= -o ppid=)
	while ((${#queue[@]})); do
		cur=${queue[0]}
		queue=("${queue[@]:1}")
		for p in ${kids[$cur]:-}; do
			printf '%s\n' "$p"
			queue+=("$p")
		done
	done
}

# Signal a set of pids with TERM, give them SECS to go, then KILL.
_lab_kill_all()
{
	local secs=$1 p i left
	shift
	(($#)) || return 0
	kill -TERM "$@" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		left=0
		for p; do _lab_alive "$p" && left=1; done
		((left)) || break
		sleep 0.1
	done
	for p; do _lab_alive "$p" && { kill -KILL "$p" 2>/dev/null || true; }; done
	for ((i = 0; i < 50; i++)); do
		left=0
		for p; do _lab_alive "$p" && left=1; done
		((left)) || break
		sleep 0.1
	done
	# Reap our own children; for the others this is a harmless error.
	for p; do _lab_alive "$p" || wait "$p" 2>/dev/null || true; done
	return 0
}

lab_kill()
{
	local pid=$1 sig=${2:-TERM} secs=${3:-5} i

	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		_lab_alive "$pid" || break
		sleep 0.1
	done
	if _lab_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			_lab_alive "$pid" || break
			sleep 0.1
		done
	fi
	_lab_alive "$pid" && return 1
	wait "$pid" 2>/dev/null || true
}

# Fetch URL from namespace NS and print the body.  busybox wget's own -T
# timeout crashes (1.35 static), hence timeout(1).
lab_http()
{
	local ns=$1 url=$2 secs=${3:-3}

	lab_exec "$ns" timeout "$secs" busybox wget -q -O - "$url"
}

# One ICMP echo from NS to ADDR (IPv4 or IPv6), waiting up to a second.
lab_ping()
{
	lab_exec "$1" busybox ping -c 1 -W 1 "$2" >/dev/null
}

lab_retry()
{
	local secs=$1 i
	shift

	for ((i = 0; i < secs * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

# ---------------------------------------------------------------- cleanup

_lab_mounts_under()
{
	local dir=$1 a b c d mp rest

	# Field 5 of mountinfo is the mount point; reversed so that nested
	# mounts go first.
	while read -r a b c d mp rest; do
		if [[ $mp == "$dir" || $mp == "$dir"/* ]]; then
			printf '%s\n' "$mp"
		fi
	done </proc/self/mountinfo | tac
}

lab_unmount_under()
{
	local mp

	while read -r mp; do
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null ||
			lab_err "cannot unmount $mp"
	done < <(_lab_mounts_under "$1")
}

lab_cleanup()
{
	local opts=$- line kind b pids=() hooks=() lines=() i ns

	[[ -n ${LAB_DIR:-} && -z ${_LAB_CLEANED:-} && -d ${LAB_STATE:-/nonexistent} ]] ||
		return 0
	set +e
	_LAB_CLEANED=1

	# Hooks first (dockerd must stop before its namespace goes away),
	# last registered first.
	mapfile -t hooks <"$LAB_STATE/hooks"
	for ((i = ${#hooks[@]} - 1; i >= 0; i--)); do
		eval "${hooks[i]}" || lab_err "cleanup step failed: ${hooks[i]}"
	done

	while read -r kind ns b; do
		[[ $kind == pid ]] && _lab_alive "$ns" "$b" && pids+=("$ns")
	done <"$LAB_STATE/ledger"
	((${#pids[@]})) && mapfile -t -O "${#pids[@]}" pids < <(_lab_descendants "${pids[@]}")
	_lab_kill_all 3 "${pids[@]}"

	# Anything still inside one of our namespaces (daemonized children,
	# processes started without lab_bg) goes too; then the namespaces.
	mapfile -t lines < <(tac "$LAB_STATE/ledger")
	for line in "${lines[@]}"; do
		read -r kind ns b <<<"$line"
		[[ $kind == netns ]] || continue
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		((${#pids[@]})) && mapfile -t -O "${#pids[@]}" pids < <(_lab_descendants "${pids[@]}")
		_lab_kill_all 3 "${pids[@]}"
		ip netns delete "$ns" 2>/dev/null
	done

	lab_unmount_under "$LAB_DIR"
	LAB_LEDGER=$(<"$LAB_STATE/ledger")
	[[ -z ${LAB_LEDGER_OUT:-} ]] || printf '%s\n' "$LAB_LEDGER" >"$LAB_LEDGER_OUT"
	if [[ ${LAB_KEEP:-0} == 1 ]]; then
		: >"$LAB_STATE/kept"
		lab_log "kept $LAB_DIR"
	elif [[ -z $(_lab_mounts_under "$LAB_DIR") ]]; then
		rm -rf "$LAB_DIR"
	fi
	[[ $opts == *e* ]] && set -e
	return 0
}

# Clean up after runs whose owning shell died without running its trap
# (SIGKILL, a crash): everything their ledger names goes.  Runs kept with
# LAB_KEEP=1, runs still alive and runs being reaped by someone else are left
# alone.
lab_reap_stale()
{
	local d owner start k i by bys me=$BASHPID

	for d in "${TMPDIR:-/tmp}"/gw?????.lab; do
		[[ -f $d/.lab/ledger && ! -e $d/.lab/kept ]] || continue
		read -r k owner start < <(grep -m1 '^owner ' "$d/.lab/ledger") || continue
		_lab_alive "$owner" "$start" && continue
		if mkdir "$d/.lab/reaping" 2>/dev/null; then
			echo "$me $(_lab_starttime "$me")" >"$d/.lab/reaping/by"
			lab_log "reaping lab run $(basename "$d" .lab): its shell ($owner) is gone"
			(_lab_reap_one "$d")
			continue
		fi
		# Another run reaps it (every lab_init looks): wait for it to
		# finish, so that on return the run is gone; take over if that
		# reaper died too.
		for ((i = 0; i < 300; i++)); do
			[[ -d $d ]] || break
			by='' bys=''
			{ read -r by bys <"$d/.lab/reaping/by"; } 2>/dev/null || true
			if [[ -n $by ]] && ! _lab_alive "$by" "$bys"; then
				{ echo "$me $(_lab_starttime "$me")" >"$d/.lab/reaping/by"; } 2>/dev/null || break
				lab_log "reaping lab run $(basename "$d" .lab): its reaper ($by) is gone"
				(_lab_reap_one "$d")
				break
			fi
			sleep 0.1
		done
	done
	return 0
}

# The cleanup of a run, from its directory alone; run in a subshell.  The
# locals hide the caller's own run, engine included.
_lab_reap_one()
{
	local LAB_DIR=$1 LAB_STATE=$1/.lab LAB_RUN _LAB_CLEANED='' LAB_KEEP=0
	local LAB_LEDGER_OUT='' LAB_LEDGER=''
	local DOCKER_LAB_ROOT='' DOCKER_LAB_PID='' DOCKER_LAB_SOCK='' DOCKER_LAB_CGROUP=''

	LAB_RUN=$(basename "$1" .lab)
	if grep -q '^docker_lab_stop' "$LAB_STATE/hooks" && ! declare -F docker_lab_stop >/dev/null; then
		# shellcheck source=tests/lib/docker.sh
		. "$LAB_LIB_DIR/docker.sh"
	fi
	lab_cleanup
}

# Prints one line per thing of a run that still exists.  Reads the ledger
# from FILE, else from the finished run in this shell.
lab_leftovers()
{
	local ledger run='' dir='' kind a b p inode found=0 links
	local -A inodes=() seen=()

	if [[ -n ${1:-} ]]; then
		ledger=$(cat -- "$1" 2>/dev/null) || true
	else
		ledger=${LAB_LEDGER:-$(cat "${LAB_STATE:-/nonexistent}/ledger" 2>/dev/null)}
	fi
	[[ -n $ledger ]] || { echo "no ledger"; return 1; }

	while read -r kind a b; do
		case $kind in
		run) run=$a ;;
		dir) dir=$a
		     if [[ -e $a && ${LAB_KEEP:-0} != 1 ]]; then
			     echo "directory $a"; found=1
		     fi ;;
		netns) inodes[$b]=$a
		       if [[ -e /run/netns/$a ]]; then echo "netns $a"; found=1; fi
		       seen[$a]=1 ;;
		pid) if _lab_alive "$a" "$b"; then
			     echo "process $a: $(tr '\0' ' ' <"/proc/$a/cmdline" 2>/dev/null)"
			     found=1
		     fi ;;
		file|cgroup)
		     if [[ -e $a ]]; then echo "$kind $a"; found=1; fi ;;
		pattern)
		     for p in $(pgrep -f -- "$a"); do
			     [[ $p == "$$" || $p == "$BASHPID" ]] && continue
			     echo "process $p matches '$a': $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
			     found=1
		     done ;;
		esac
	done <<<"$ledger"

	# Processes still living in one of the run's namespaces, even unnamed.
	while read -r inode p; do
		if [[ -n ${inodes[$inode]:-} ]]; then
			p=${p#/proc/}
			echo "process ${p%%/*} in netns ${inodes[$inode]}"
			found=1
		fi
	done < <(stat -L -c '%i %n' /proc/[0-9]*/ns/net 2>/dev/null)
	if [[ -n $dir ]]; then
		for p in $(pgrep -f -- "$dir"); do
			[[ $p == "$$" || $p == "$BASHPID" ]] && continue
			echo "process $p mentions $dir: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
			found=1
		done
		if [[ -n $(_lab_mounts_under "$dir") ]]; then
			echo "mounts: $(_lab_mounts_under "$dir" | tr '\n' ' ')"
			found=1
		fi
	fi
	if [[ -n $run ]]; then
		for p in $(ip netns list | awk '{print $1}'); do
			[[ $p == "$run"-* && -z ${seen[$p]:-} ]] && { echo "netns $p"; found=1; }
		done
		links=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$run" || true)
		[[ -z $links ]] || { echo "links in root namespace: $links"; found=1; }
	fi
	((found == 0))
}

# ---------------------------------------------------------------- queries

_lab_json()
{
	# $1: jq filter, $2: the same in python over `d` (the parsed input)
	if command -v jq >/dev/null; then
		jq -r "$1"
	else
		/usr/bin/python3 -c "import json, sys
d = json.load(sys.stdin)
for x in ($2):
    print(x)"
	fi
}

# Interface names in NS, one per line.
lab_links()
{
	ip -n "$(lab_ns "$1")" -j link show |
		_lab_json '.[].ifname' '[l["ifname"] for l in d]'
}

# Addresses (ADDR/LEN) on interface IF in NS.
lab_addrs()
{
	ip -n "$(lab_ns "$1")" -j addr show dev "$2" |
		_lab_json '.[].addr_info[] | "\(.local)/\(.prefixlen)"' \
			'["%s/%s" % (a["local"], a["prefixlen"]) for l in d for a in l["addr_info"]]'
}

# The routes in NS (family 4 or 6) as "DST DEV [GATEWAY]".
lab_routes()
{
	ip -n "$(lab_ns "$1")" "-${2:-4}" -j route show |
		_lab_json '.[] | "\(.dst) \(.dev) \(.gateway // "")"' \
			'["%s %s %s" % (r["dst"], r.get("dev", ""), r.get("gateway", "")) for r in d]'
}

# The device NS would send a packet to DST through; fails without a route.
lab_route_dev()
{
	local out

	out=$(ip -n "$(lab_ns "$1")" -j route get "$2" 2>&1) || { printf '%s\n' "$out"; return 1; }
	_lab_json '.[0].dev' '[d[0]["dev"]]' <<<"$out"
}

# Is the process PID in namespace NS?
lab_pid_in_ns()
{
	[[ /proc/$1/ns/net -ef /run/netns/$(lab_ns "$2") ]]
}

# ---------------------------------------------------------------- checks

_lab_report()
{
	local ok=$1 desc=$2 out=$3

	LAB_CHECKS=$((LAB_CHECKS + 1))
	if ((ok)); then
		LAB_PASS=$((LAB_PASS + 1))
		printf 'ok %d - %s\n' "$LAB_CHECKS" "$desc"
	else
		LAB_FAIL=$((LAB_FAIL + 1))
		printf 'not ok %d - %s\n' "$LAB_CHECKS" "$desc"
		[[ -z $out ]] || printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
	fi
}

lab_check()
{
	local desc=$1 out ok=1
	shift

	out=$("$@" 2>&1) || ok=0
	_lab_report "$ok" "$desc" "$out"
}

lab_check_fail()
{
	local desc=$1 out ok=0
	shift

	out=$("$@" 2>&1) || ok=1
	((ok)) || out="expected failure, but it succeeded: $* ${out:+
$out}"
	_lab_report "$ok" "$desc" "$out"
}

# Helpers for lab_check: each prints what it saw and fails on a mismatch.

# WANT must be one of the lines on stdin.
lab_has_line()
{
	local out

	out=$(cat)
	grep -qxF -- "$1" <<<"$out" || { printf 'want "%s" in:\n%s\n' "$1" "$out"; return 1; }
}

# The page at URL, fetched from NS, must be exactly WANT.
lab_body_is()
{
	local want=$1 got

	got=$(lab_http "$2" "$3" "${4:-3}") || { echo "fetching $3 from $2 failed"; return 1; }
	[[ $got == "$want" ]] || { echo "got '$got', want '$want'"; return 1; }
}

# NS must have no route at all to DST (ip route get: unreachable).
lab_no_route()
{
	local out

	if out=$(lab_route_dev "$1" "$2"); then
		echo "$1 routes $2 via $out"
		return 1
	fi
	grep -q unreachable <<<"$out" || { echo "unexpected: $out"; return 1; }
}

lab_sysctl_is()
{
	local v

	v=$(lab_exec "$1" sysctl -n "$2")
	[[ $v == "$3" ]] || { echo "$2 is $v in $1, want $3"; return 1; }
}

lab_gone() { ! _lab_alive "$1" || { echo "pid $1 still runs"; return 1; }; }

# Runs after cleanup: nothing of the run named in LEDGER may remain.
lab_check_clean()
{
	local desc=$1 ledger=$2 out ok=1

	if [[ ! -s $ledger ]]; then
		out="cleanup wrote no ledger to $ledger"
		ok=0
	else
		out=$(lab_leftovers "$ledger") || ok=0
	fi
	_lab_report "$ok" "$desc" "$out"
}

lab_reset_checks() { LAB_CHECKS=0 LAB_PASS=0 LAB_FAIL=0; }

lab_done()
{
	printf '# %d checks, %d passed, %d failed\n' "$LAB_CHECKS" "$LAB_PASS" "$LAB_FAIL"
	((LAB_FAIL == 0 && LAB_CHECKS > 0))
}
