# docker.sh - a real Docker engine inside the lab's vm namespace (bash library)
#
# Needs lab.sh, sourced first, and lab_init + lab_up done.  Runs Debian's
# docker.io (dockerd 20.10 on bookworm) with every path under $LAB_DIR, so
# several runs can each have their own engine at the same time.
#
# dockerd is entered into the vm namespace with nsenter --net, not
# `ip netns exec`: the latter gives it a private /sys without the cgroup
# mounts the engine needs.  It shares the root mount namespace, so what it
# mounts (its data root, the netns files under its exec root) is visible
# here and is unmounted by docker_lab_stop.
#
# Functions:
#   docker_lab_start [DOCKERD-ARGS...]
#                       start dockerd in vm, wait until it answers, import the
#                       lab image; registers docker_lab_stop for cleanup.
#                       Call it in the main shell, not inside $(...).
#   docker_lab CMD...   the Debian docker client (/usr/bin/docker) on this
#                       run's engine
#   docker_lab_run NAME [RUN-OPTS...] [-- CMD...]
#                       detached container NAME from the lab image; default
#                       command: httpd on port 80 answering "hello from NAME"
#   docker_lab_ip NAME [NETWORK]   its IPv4 address (on NETWORK)
#   docker_lab_ip6 NAME [NETWORK]  its global IPv6 address
#   docker_lab_network_create NAME [OPTS...]
#                       user bridge network; subnets come from this run's pool
#   docker_lab_subnets  every subnet of the engine's bridge networks
#   docker_lab_restart  stop dockerd and start it again with the same options
#                       (as a real engine restart: containers stop; those with
#                       a restart policy come back)
#   docker_lab_stop     remove the containers, stop dockerd, containerd and
#                       the shims, unmount, remove the run's cgroups
#   docker_lab_shim_socket ID
#                       the containerd shim socket of container ID
#   docker_lab_image_tar
#                       print the path of the busybox root tarball (cached in
#                       $BUILD/lab/, built if missing)
#
# Variables after docker_lab_start: DOCKER_LAB_ROOT DOCKER_LAB_SOCK
# DOCKER_LAB_LOG DOCKER_LAB_PID DOCKER_LAB_IMAGE DOCKER_LAB_BRIDGE4 (docker0's
# subnet) DOCKER_LAB_BRIDGE6 (docker0's IPv6 subnet when enabled)
# DOCKER_LAB_POOL4 (where user networks get their subnets).
#
# Environment: DOCKER_LAB_IPV6=1 turns IPv6 on for docker0 (with ip6tables);
# DOCKER_LAB_TIMEOUT (default 30) seconds to wait for the engine;
# DOCKER_LAB_DAEMON_JSON the daemon.json text (default {}); DOCKERD and
# DOCKER_CLIENT the programs (default /usr/sbin/dockerd, /usr/bin/docker: the
# docker in /usr/local/bin may be a newer client).

DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER_CLIENT=${DOCKER_CLIENT:-/usr/bin/docker}
DOCKER_LAB_IMAGE=gangway-lab:busybox
DOCKER_LAB_BUSYBOX=${DOCKER_LAB_BUSYBOX:-/bin/busybox}

docker_lab()
{
	env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY \
		DOCKER_CONFIG="$DOCKER_LAB_ROOT/client" \
		"$DOCKER_CLIENT" -H "unix://$DOCKER_LAB_SOCK" "$@"
}

# ---------------------------------------------------------------- image

# A root filesystem of one static busybox and its applets, so containers need
# no registry.  The tarball is reproducible and named after the binary's hash.
docker_lab_image_tar()
{
	local sum dir tar tmp root a

	[[ -x $DOCKER_LAB_BUSYBOX ]] ||
		{ lab_err "$DOCKER_LAB_BUSYBOX missing (package busybox-static)"; return 1; }
	sum=$(sha256sum "$DOCKER_LAB_BUSYBOX" | cut -c1-12)
	dir=$(lab_build_dir)/lab
	mkdir -p "$dir" 2>/dev/null && [[ -w $dir ]] || dir=$LAB_DIR
	tar=$dir/busybox-$sum.tar
	if [[ ! -s $tar ]]; then
		root=$(mktemp -d "$LAB_DIR/rootfs.XXXXXX")
		mkdir -p "$root"/{bin,etc,www,tmp,proc,sys,dev,root,usr,var/run}
		chmod 1777 "$root/tmp"
		cp "$DOCKER_LAB_BUSYBOX" "$root/bin/busybox"
		for a in $("$DOCKER_LAB_BUSYBOX" --list); do
			[[ $a == busybox || -e $root/bin/$a ]] || ln -s busybox "$root/bin/$a"
		done
		ln -s bin "$root/sbin"
		ln -s ../bin "$root/usr/bin"
		ln -s ../bin "$root/usr/sbin"
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
			>"$root/etc/passwd"
		printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
		printf 'gangway lab\n' >"$root/www/index.html"
		# Written beside the target and renamed: concurrent runs never
		# see half a tarball.
		tmp=$dir/.busybox-$sum.tar.$LAB_RUN
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			-C "$root" -cf "$tmp" .
		mv -f "$tmp" "$tar"
		rm -rf "$root"
	fi
	printf '%s\n' "$tar"
}

docker_lab_image()
{
	local tar

	tar=$(docker_lab_image_tar)
	docker_lab import --change 'CMD ["sh"]' "$tar" "$DOCKER_LAB_IMAGE" >/dev/null
}

# ---------------------------------------------------------------- engine

_docker_lab_tail()
{
	lab_err "dockerd log ($DOCKER_LAB_LOG), last lines:"
	tail -n 25 "$DOCKER_LAB_LOG" 2>/dev/null | sed 's/^/    /' >&2
}

# Start dockerd with the saved options and wait until the API answers.
_docker_lab_engine_start()
{
	local deadline

	# TMPDIR: when dockerd restarts a containerd that missed its health
	# checks (a loaded machine), containerd first dumps its stacks there.
	PATH=/usr/sbin:/usr/bin:/sbin:/bin TMPDIR=$DOCKER_LAB_ROOT/tmp \
		nsenter --net="/run/netns/$LAB_VM_NS" -- "$DOCKERD" "${_DOCKER_LAB_ARGS[@]}" \
		</dev/null >>"$DOCKER_LAB_LOG" 2>&1 &
	DOCKER_LAB_PID=$!
	lab_record_pid "$DOCKER_LAB_PID"
	# Stopped by pid; no job notice when a test kills it.
	disown "$DOCKER_LAB_PID"

	deadline=$((SECONDS + ${DOCKER_LAB_TIMEOUT:-30}))
	until docker_lab info >/dev/null 2>&1; do
		if ! _lab_alive "$DOCKER_LAB_PID"; then
			lab_err "dockerd exited during start-up"
			_docker_lab_tail
			return 1
		fi
		if ((SECONDS >= deadline)); then
			lab_err "dockerd did not answer on $DOCKER_LAB_SOCK within ${DOCKER_LAB_TIMEOUT:-30}s"
			_docker_lab_tail
			return 1
		fi
		sleep 0.2
	done
}

docker_lab_start()
{
	local r h json=${DOCKER_LAB_DAEMON_JSON:-}

	[[ -n ${LAB_VM_NS:-} ]] || { lab_err "docker_lab_start: lab_up first"; return 1; }
	[[ -x $DOCKERD && -x $DOCKER_CLIENT ]] ||
		{ lab_err "$DOCKERD or $DOCKER_CLIENT missing (package docker.io)"; return 1; }
	DOCKER_LAB_ROOT=$LAB_DIR/docker
	r=$DOCKER_LAB_ROOT
	DOCKER_LAB_SOCK=$r/docker.sock
	DOCKER_LAB_LOG=$r/dockerd.log
	DOCKER_LAB_BRIDGE4=10.$LAB_OCTET.0.0/24
	DOCKER_LAB_POOL4=10.$LAB_OCTET.128.0/17
	DOCKER_LAB_BRIDGE6=
	DOCKER_LAB_CGROUP=$LAB_RUN-docker
	mkdir -p "$r/client" "$r/data" "$r/x" "$r/tmp"
	[[ -n $json ]] || json='{}'
	printf '%s\n' "$json" >"$r/daemon.json"

	# Our own config file keeps /etc/docker/daemon.json out; our own
	# cgroup parent lets cleanup find every container process; per-run
	# subnets keep parallel runs apart in what they print and route.
	_DOCKER_LAB_ARGS=(--config-file "$r/daemon.json" --data-root "$r/data"
		--exec-root "$r/x" --pidfile "$r/dockerd.pid" -H "unix://$DOCKER_LAB_SOCK"
		--storage-driver vfs --iptables=true --ip-forward=true
		--bip "10.$LAB_OCTET.0.1/24"
		--default-address-pool "base=$DOCKER_LAB_POOL4,size=24"
		--cgroup-parent "/$DOCKER_LAB_CGROUP" --shutdown-timeout 5)
	if [[ ${DOCKER_LAB_IPV6:-0} == 1 ]]; then
		DOCKER_LAB_BRIDGE6=$LAB_ULA48:d0::/64
		_DOCKER_LAB_ARGS+=(--experimental --ipv6 --ip6tables
			--fixed-cidr-v6 "$DOCKER_LAB_BRIDGE6")
	fi
	_DOCKER_LAB_ARGS+=("$@")

	# dockerd sets the FORWARD policy to DROP only when it turns
	# forwarding on itself, as on a fresh VM: give it that VM.  (IPv6
	# forwarding stays off unless DOCKER_LAB_IPV6=1 has dockerd turn it on.)
	lab_exec vm sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

	for h in /sys/fs/cgroup/*/; do
		lab_ledger cgroup "$h$DOCKER_LAB_CGROUP"
	done
	lab_on_cleanup docker_lab_stop
	_docker_lab_engine_start || return 1
	docker_lab_image
}

# Every process of this engine: dockerd and its children, containerd and the
# shims (they name our exec root; shims are reparented away from dockerd),
# and whatever runs in the run's container cgroups.
_docker_lab_pids()
{
	local seeds=() f

	[[ -n ${DOCKER_LAB_PID:-} ]] && _lab_alive "$DOCKER_LAB_PID" && seeds+=("$DOCKER_LAB_PID")
	mapfile -t -O "${#seeds[@]}" seeds < <(pgrep -f -- "$DOCKER_LAB_ROOT/")
	for f in /sys/fs/cgroup/*/"$DOCKER_LAB_CGROUP"; do
		[[ -d $f ]] || continue
		mapfile -t -O "${#seeds[@]}" seeds < <(find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null)
	done
	((${#seeds[@]})) || return 0
	{ printf '%s\n' "${seeds[@]}"; _lab_descendants "${seeds[@]}"; } | sort -un
}

# TERM dockerd and wait: it stops its containers and containerd itself.
_docker_lab_engine_stop()
{
	[[ -n ${DOCKER_LAB_PID:-} ]] || return 0
	lab_kill "$DOCKER_LAB_PID" TERM 20 ||
		lab_err "dockerd $DOCKER_LAB_PID did not stop"
	DOCKER_LAB_PID=
}

docker_lab_restart()
{
	_docker_lab_engine_stop
	_docker_lab_engine_start
}

docker_lab_stop()
{
	local ids=() id pids=() f

	# Reaping a run whose shell is gone: only $LAB_DIR and $LAB_RUN are known.
	: "${DOCKER_LAB_ROOT:=$LAB_DIR/docker}" "${DOCKER_LAB_CGROUP:=$LAB_RUN-docker}"
	: "${DOCKER_LAB_SOCK:=$DOCKER_LAB_ROOT/docker.sock}"
	if [[ -z ${DOCKER_LAB_PID:-} && -r $DOCKER_LAB_ROOT/dockerd.pid ]]; then
		read -r DOCKER_LAB_PID <"$DOCKER_LAB_ROOT/dockerd.pid" || DOCKER_LAB_PID=''
		[[ $(tr '\0' ' ' <"/proc/$DOCKER_LAB_PID/cmdline" 2>/dev/null) == *"$DOCKER_LAB_ROOT"* ]] ||
			DOCKER_LAB_PID=''
	fi
	[[ -d $DOCKER_LAB_ROOT ]] || return 0
	if [[ -n ${DOCKER_LAB_PID:-} ]] && _lab_alive "$DOCKER_LAB_PID"; then
		mapfile -t ids < <(timeout 10 "$DOCKER_CLIENT" -H "unix://$DOCKER_LAB_SOCK" ps -aq 2>/dev/null)
		((${#ids[@]} == 0)) ||
			timeout 30 "$DOCKER_CLIENT" -H "unix://$DOCKER_LAB_SOCK" rm -f "${ids[@]}" >/dev/null 2>&1 ||
			true
	fi
	_docker_lab_engine_stop

	# After a crash (or a kill -9 in a test) containerd, shims and
	# containers are left behind: take them down as well.
	mapfile -t pids < <(_docker_lab_pids)
	_lab_kill_all 0 "${pids[@]}"
	mapfile -t pids < <(_docker_lab_pids)
	((${#pids[@]} == 0)) || lab_err "still running after docker_lab_stop: ${pids[*]}"
	lab_unmount_under "$DOCKER_LAB_ROOT"

	# The shims remove their sockets on a clean exit only.
	for f in "$DOCKER_LAB_ROOT"/data/containers/*/; do
		[[ -d $f ]] || continue
		id=$(basename "$f")
		f=$(docker_lab_shim_socket "$id")
		lab_ledger file "$f"
		rm -f "$f"
	done
	for f in /sys/fs/cgroup/*/"$DOCKER_LAB_CGROUP"; do
		[[ -d $f ]] && { find "$f" -depth -type d -exec rmdir {} + 2>/dev/null || true; }
	done
	return 0
}

# containerd names a shim's socket after a hash of its own socket path, the
# namespace and the container id, in one directory for the whole machine.
docker_lab_shim_socket()
{
	printf '/run/containerd/s/%s\n' "$(printf '%s' "$DOCKER_LAB_ROOT/x/containerd/containerd.sock/moby/$1" |
		sha256sum | cut -d' ' -f1)"
}

# ---------------------------------------------------------------- containers

docker_lab_run()
{
	local name=$1 opts=() cmd
	shift

	[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { lab_err "bad container name '$name'"; return 1; }
	while (($#)) && [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	if (($#)); then
		shift
		cmd=("$@")
	else
		cmd=(sh -c "echo 'hello from $name' >/www/index.html && exec httpd -f -p 80 -h /www")
	fi
	# Stops are quick, as a restart test needs: --init puts docker-init in
	# as pid 1 to pass TERM on (a busybox applet as pid 1 ignores it), and
	# whatever still ignores TERM gets KILL after 1 s, not 10.
	docker_lab run -d --init --name "$name" --hostname "$name" --stop-timeout 1 \
		"${opts[@]}" "$DOCKER_LAB_IMAGE" "${cmd[@]}" >/dev/null
}

_docker_lab_addr()
{
	local field=$1 name=$2 net=${3:-} out

	if [[ -n $net ]]; then
		out=$(docker_lab inspect -f "{{with index .NetworkSettings.Networks \"$net\"}}{{.$field}}{{end}}" "$name")
	else
		out=$(docker_lab inspect -f "{{range .NetworkSettings.Networks}}{{.$field}} {{end}}" "$name")
	fi
	out=${out%% *}
	[[ -n $out && $out != "<no value>" ]] || { lab_err "$name has no $field${net:+ on $net}"; return 1; }
	printf '%s\n' "$out"
}

docker_lab_ip() { _docker_lab_addr IPAddress "$@"; }
docker_lab_ip6() { _docker_lab_addr GlobalIPv6Address "$@"; }

docker_lab_network_create()
{
	local name=$1
	shift
	docker_lab network create "$@" "$name" >/dev/null
}

docker_lab_subnets()
{
	local n

	for n in $(docker_lab network ls -q --filter driver=bridge); do
		docker_lab network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "$n"
	done | tr ' ' '\n' | sed '/^$/d'
}
