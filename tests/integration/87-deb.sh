#!/usr/bin/env bash
# make deb: a package whose control file names this version and
# architecture and depends on the package of every library the programs
# link; it installs into a scratch root with dpkg --root, lays down the
# programs (which run), units, man pages and examples, and removes cleanly.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"

lab_init
cd "$LAB_REPO"
B=$(lab_build_dir)
VERSION=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' Makefile)
ARCH=$(dpkg --print-architecture)
DEB=$B/gangway_${VERSION}_$ARCH.deb
R=$LAB_DIR/root

rm -f "$DEB"
lab_check "make deb" make -s --no-print-directory BUILD="$B" deb
lab_check "it made $DEB" test -s "$DEB"
field() { dpkg-deb -f "$DEB" "$1"; }
lab_check "Package: gangway" bash -c "[ \"\$(dpkg-deb -f $DEB Package)\" = gangway ]"
lab_check "Version: $VERSION" bash -c "[ \"\$(dpkg-deb -f $DEB Version)\" = $VERSION ]"
lab_check "Architecture: $ARCH" bash -c "[ \"\$(dpkg-deb -f $DEB Architecture)\" = $ARCH ]"

# Every shared library the programs need comes from a package in Depends.
deps_cover()
{
	local deps lib pkgs p hit ok=0
	deps=" $(field Depends | tr -d ' ' | tr ',' ' ') "
	for lib in $(objdump -p "$B/gangwayd" "$B/gangway" | awk '$1 == "NEEDED" {print $2}' | sort -u); do
		case "$lib" in libc.so.*|ld-linux*) continue ;; esac
		pkgs=$(dpkg -S "*/$lib" 2>/dev/null | cut -d: -f1 | tr ',' ' ')
		hit=0
		for p in $pkgs; do
			[[ $deps == *" $p "* ]] && hit=1
		done
		if ((!hit)); then
			echo "$lib is in package(s) '${pkgs:-?}', none in Depends:$deps"
			ok=1
		fi
	done
	return $ok
}
lab_check "Depends covers every linked library" deps_cover
for p in iptables nftables; do
	lab_check "Depends names $p (the guest runs it)" bash -c "dpkg-deb -f $DEB Depends | grep -qw $p"
done

want=(
	./usr/sbin/gangwayd ./usr/bin/gangway
	./lib/systemd/system/gangwayd.service ./lib/systemd/system/gangway.service
	./usr/share/man/man8/gangwayd.8.gz ./usr/share/man/man8/gangway.8.gz
	./usr/share/man/man5/gangway.conf.5.gz
	./usr/share/doc/gangway/gangwayd.conf.example ./usr/share/doc/gangway/gangway.conf.example
	./usr/lib/tmpfiles.d/gangway.conf
)
dpkg-deb -c "$DEB" | awk '{print $NF}' >"$LAB_DIR/contents"
for f in "${want[@]}"; do
	lab_check "the package holds $f" grep -qx -- "$f" "$LAB_DIR/contents"
done
lab_check "files are owned by root" bash -c "! dpkg-deb -c $DEB | awk '{print \$2}' | grep -v '^root/root$'"
lab_check_fail "no build paths leak in" grep -q "$LAB_REPO\|deb-root" "$LAB_DIR/contents"

# A scratch root with an empty dpkg database.
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
: >"$R/var/lib/dpkg/status"
# ...and the account files of a system with root alone, for useradd --prefix.
mkdir -p "$R/etc"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
echo 'root:*:19000:0:99999:7:::' >"$R/etc/shadow"
echo 'root:*::' >"$R/etc/gshadow"
chmod 640 "$R/etc/shadow" "$R/etc/gshadow"
: >"$R/var/lib/dpkg/available"
dpkgr() { dpkg --root="$R" --log=/dev/null --force-script-chrootless "$@"; }
lab_check "dpkg --root installs it (dependencies aside)" \
	dpkgr --force-depends --force-not-root -i "$DEB"
lab_check "dpkg reports it installed" bash -c \
	"dpkg --root=$R -s gangway | grep -qx 'Status: install ok installed'"
for f in "${want[@]}"; do
	lab_check "installed ${f#.}" test -f "$R/${f#./}"
done
lab_check "postinst created the gangway system user (uid < 1000, no login)" \
	bash -c "awk -F: '\$1 == \"gangway\" && \$3 > 0 && \$3 < 1000 && \$7 ~ /nologin/ {ok=1} END {exit !ok}' $R/etc/passwd"
lab_check "...with its own group" grep -q '^gangway:' "$R/etc/group"
lab_check "postinst created the xtables lock in that root, 0600 root" \
	bash -c "[ \"\$(stat -c '%a %u %g' $R/run/xtables.lock)\" = '600 0 0' ]"
lab_check "the installed gangwayd runs" bash -c "[ \"\$($R/usr/sbin/gangwayd --version)\" = 'gangwayd $VERSION' ]"
lab_check "the installed gangway runs" bash -c "[ \"\$($R/usr/bin/gangway --version)\" = 'gangway $VERSION' ]"
lab_check "the unit starts /usr/sbin/gangwayd" \
	grep -q "^ExecStart=/usr/sbin/gangwayd " "$R/lib/systemd/system/gangwayd.service"
man_clean()
{
	local err
	err=$(MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null) || return 1
	[ -z "$err" ] || { echo "$err"; return 1; }
}
lab_check "the compressed gangwayd(8) renders without warnings" \
	man_clean "$R/usr/share/man/man8/gangwayd.8.gz"
lab_check "dpkg -r removes it" dpkgr --force-not-root -r gangway
lab_check "...with its files" bash -c "[ -z \"\$(find $R/usr $R/lib -type f 2>/dev/null)\" ]"
lab_check "...leaving the gangway user (files it owned may remain)" grep -q '^gangway:' "$R/etc/passwd"
lab_done
