#!/usr/bin/env bash
# The install instructions name every library the build asks pkg-config
# for: the README's command for a Debian/Ubuntu VM and Docker Desktop's
# image (systemd/Dockerfile) list, for each module in the Makefile's PKGS,
# the Debian package that holds its .pc file (or a package that depends on
# it, as libpcap-dev on libpcap0.8-dev). A module added to the build and
# forgotten there fails here, not on a user's `make deb`.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh

lab_init
trap lab_cleanup EXIT

# The Linux branch's PKGS: the first assignment and its continuation lines.
pkgs=$(awk '/^PKGS[[:space:]]*:=/ { on = 1; sub(/^PKGS[[:space:]]*:=/, "") }
	on { line = $0; more = sub(/\\$/, "", line); printf "%s ", line; if (!more) exit }' Makefile)
lab_check "the Makefile asks pkg-config for libraries" test "$(wc -w <<<"$pkgs")" -ge 5

# The words of a shell command from its `apt-get install` to its end.
readme_list=$(sed -n '/^sudo apt-get install -y build-essential/,/make deb/p' README.md |
	tr '\\&' '  ' | tr -s ' \n' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u)
docker_list=$(sed -n '/apt-get install -y --no-install-recommends build-essential/,/rm -rf/p' \
	systemd/Dockerfile | tr '\\&' '  ' | tr -s ' \t\n' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u)
lab_check "the README's VM command installs build-essential and pkg-config" bash -c \
	"grep -qx build-essential <<<'$readme_list' && grep -qx pkg-config <<<'$readme_list'"
lab_check "systemd/Dockerfile installs build-essential and pkg-config" bash -c \
	"grep -qx build-essential <<<'$docker_list' && grep -qx pkg-config <<<'$docker_list'"

# A package is covered by a list when it is in it, or a listed package
# depends on it.
covered() {	# package, list
	local p=$1 l
	grep -qx "$p" <<<"$2" && return 0
	while read -r l; do
		apt-cache show "$l" 2>/dev/null | sed -n 's/^Depends: //p' | tr ',|' '\n\n' |
			sed 's/ *(.*//; s/^ *//; s/:any$//' | grep -qx "$p" && return 0
	done <<<"$2"
	echo "$p is not installed by: $(tr '\n' ' ' <<<"$2")"
	return 1
}
for m in $pkgs; do
	pc=$(pkg-config --variable=pcfiledir "$m")/$m.pc
	owner=$(dpkg -S "$(readlink -f "$pc")" 2>/dev/null | cut -d: -f1 | head -1)
	lab_check "$m: its .pc file is a Debian package's ($owner)" test -n "$owner"
	lab_check "$m: the README's VM command installs $owner" covered "$owner" "$readme_list"
	lab_check "$m: systemd/Dockerfile installs $owner" covered "$owner" "$docker_list"
done
lab_done
