#!/usr/bin/env bash
# unit-sandbox.sh - run a program under a systemd unit's own sandbox, as far
# as it can be rebuilt without systemd as PID 1:
#
#   unit-sandbox.sh UNITFILE [--tmpfiles FILE] [--sysfilter TOOL] -- PROGRAM ARGS...
#
# In a new mount namespace, as systemd's namespace setup does it:
#   - /run is a fresh tmpfs (a stock system's: nothing any other program
#     created), with the --tmpfiles entries applied (what boot would do) and
#     RuntimeDirectory= made with RuntimeDirectoryMode= ($RUNTIME_DIRECTORY);
#   - ProtectSystem=strict: every mount read-only but /dev, /proc, /sys;
#     ProtectKernelTunables=yes: /proc/sys read-only too;
#   - ReadWritePaths=: each bound writable; a path without '-' that does not
#     exist fails the start as systemd does ("Failed to set up mount
#     namespacing", exit status 226/NAMESPACE);
#   - CapabilityBoundingSet=, NoNewPrivileges=, and, with --sysfilter,
#     SystemCallFilter= (groups expanded by systemd-analyze syscall-filter)
#     with SystemCallErrorNumber=EPERM, installed by the sysfilter tool.
# Environment: UNIT_SANDBOX_DIR: where the expanded filter is written
# (default /tmp). UNIT_SANDBOX_KEEP_RUN=DIR binds DIR into the new /run at the
# same path (a test's own files that live under /run).
set -euo pipefail

unit=$1
shift
tmpfiles='' sysfilter=''
while (($#)); do
	case $1 in
	--tmpfiles) tmpfiles=$2; shift 2 ;;
	--sysfilter) sysfilter=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "unit-sandbox: unknown option $1" >&2; exit 2 ;;
	esac
done

# The values of KEY= in the [Service] section, one line per directive.
unit_values()
{
	awk -v k="$1" '/^\[/ { svc = ($0 == "[Service]") } svc && index($0, k "=") == 1 {
		print substr($0, length(k) + 2) }' "$unit"
}

# Every system call a group (or one call's name) stands for.
expand_calls()
{
	local w
	for w; do
		if [[ $w == @* ]]; then
			# shellcheck disable=SC2046
			expand_calls $(systemd-analyze syscall-filter --no-pager "$w" |
				sed -n '2,$ { s/^ *//; /^#/d; /^$/d; p }')
		else
			printf '%s\n' "$w"
		fi
	done
}

# SystemCallFilter= as systemd reads it: the first line decides allowlist
# (no '~') or denylist; later lines add to it or take from it.
syscall_allowlist()
{
	local -A allow=()
	local line words c mode=''
	while IFS= read -r line; do
		[[ -n $line ]] || continue
		if [[ $line == "~"* ]]; then
			words=${line#\~}
			[[ -n $mode ]] || { echo "unit-sandbox: denylist filters not handled" >&2; return 1; }
			for c in $(expand_calls $words); do unset "allow[$c]"; done
		else
			mode=allow
			for c in $(expand_calls $line); do allow[$c]=1; done
		fi
	done < <(unit_values SystemCallFilter)
	printf '%s\n' "${!allow[@]}"
}

bset=$(unit_values CapabilityBoundingSet | tr ' ' '\n' | sed '/^$/d' |
	tr 'A-Z' 'a-z' | sed 's/^cap_/+/' | paste -sd,)
nnp=$(unit_values NoNewPrivileges)
protect=$(unit_values ProtectSystem)
tunables=$(unit_values ProtectKernelTunables)
rwpaths=$(unit_values ReadWritePaths)
rtdir=$(unit_values RuntimeDirectory)
rtmode=$(unit_values RuntimeDirectoryMode)

filter=''
if [[ -n $sysfilter && -n $(unit_values SystemCallFilter) ]]; then
	filter=$(mktemp "${UNIT_SANDBOX_DIR:-/tmp}/sysfilter.XXXXXX")
	syscall_allowlist >"$filter"
fi

export UNIT_SANDBOX_FILTER=$filter UNIT_SANDBOX_TOOL=$sysfilter UNIT_SANDBOX_BSET=$bset \
	UNIT_SANDBOX_NNP=$nnp UNIT_SANDBOX_PROTECT=$protect UNIT_SANDBOX_TUNABLES=$tunables \
	UNIT_SANDBOX_RW=$rwpaths UNIT_SANDBOX_RTDIR=$rtdir UNIT_SANDBOX_RTMODE=$rtmode \
	UNIT_SANDBOX_TMPFILES=$tmpfiles
exec unshare -m --propagation private -- bash -euo pipefail -c '
keep=${UNIT_SANDBOX_KEEP_RUN:-}
if [[ -n $keep ]]; then
	mkdir -p /tmp/.unit-sandbox-keep.$$
	mount --bind "$keep" /tmp/.unit-sandbox-keep.$$
fi
mount -t tmpfs -o mode=0755 tmpfs /run
if [[ -n $keep ]]; then
	mkdir -p "$keep"
	mount --move /tmp/.unit-sandbox-keep.$$ "$keep"
	rmdir /tmp/.unit-sandbox-keep.$$
fi
[[ -z $UNIT_SANDBOX_TMPFILES ]] || systemd-tmpfiles --create "$UNIT_SANDBOX_TMPFILES"
if [[ -n $UNIT_SANDBOX_RTDIR ]]; then
	mkdir -p -m "${UNIT_SANDBOX_RTMODE:-0755}" "/run/$UNIT_SANDBOX_RTDIR"
	export RUNTIME_DIRECTORY=/run/$UNIT_SANDBOX_RTDIR
fi
# The paths that must stay writable, checked before anything is set up.
rw=()
[[ -z $UNIT_SANDBOX_RTDIR ]] || rw+=("/run/$UNIT_SANDBOX_RTDIR")
for p in $UNIT_SANDBOX_RW; do
	opt=0
	[[ $p != -* ]] || { opt=1; p=${p#-}; }
	if [[ ! -e $p ]]; then
		((opt)) && continue
		echo "Failed to set up mount namespacing: $p: No such file or directory" >&2
		echo "Failed at step NAMESPACE" >&2
		exit 226
	fi
	rw+=("$p")
done
if [[ $UNIT_SANDBOX_PROTECT == strict ]]; then
	while read -r m; do
		m=$(printf "%b" "$m")
		case $m in /dev|/dev/*|/proc|/proc/*|/sys|/sys/*) continue ;; esac
		mount -o remount,bind,ro "$m" 2>/dev/null || true
	done < <(awk "{ print \$5 }" /proc/self/mountinfo)
fi
if [[ $UNIT_SANDBOX_TUNABLES == yes ]]; then
	mount --bind /proc/sys /proc/sys
	mount -o remount,bind,ro /proc/sys
fi
for p in "${rw[@]}"; do
	mount --bind "$p" "$p"
	mount -o remount,bind,rw "$p"
done
caps=()
[[ -z $UNIT_SANDBOX_BSET ]] || caps=(--inh-caps=-all "--bounding-set=-all,$UNIT_SANDBOX_BSET")
nnp=()
[[ $UNIT_SANDBOX_NNP != yes ]] || nnp=(--no-new-privs)
filt=()
[[ -z $UNIT_SANDBOX_FILTER ]] || filt=("$UNIT_SANDBOX_TOOL" "$UNIT_SANDBOX_FILTER")
exec setpriv "${nnp[@]}" "${caps[@]}" "${filt[@]}" "$@"
' unit-sandbox "$@"
