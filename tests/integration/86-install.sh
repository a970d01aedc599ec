#!/usr/bin/env bash
# make install DESTDIR=... PREFIX=...: the installed programs run, the
# installed units pass systemd-analyze verify (their ExecStart= names the
# installed programs, their Documentation= the installed man pages), the man
# pages render without a warning, the example configurations are valid, and
# make uninstall removes every file it installed.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"

lab_init
cd "$LAB_REPO"
B=$(lab_build_dir)
VERSION=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' Makefile)
D=$LAB_DIR/root

lab_check "make install DESTDIR PREFIX=/usr/local" \
	make -s --no-print-directory BUILD="$B" DESTDIR="$D" PREFIX=/usr/local install
P=$D/usr/local
for f in bin/gangway sbin/gangwayd; do
	lab_check "$f installed, mode 755" bash -c "[ \$(stat -c %a $P/$f) = 755 ]"
done
lab_check "installed gangway --version prints $VERSION" \
	bash -c "[ \"\$($P/bin/gangway --version)\" = 'gangway $VERSION' ]"
lab_check "installed gangwayd --version prints $VERSION" \
	bash -c "[ \"\$($P/sbin/gangwayd --version)\" = 'gangwayd $VERSION' ]"

# "OK" is systemd's word for an exposure of 4.9 or less (of 10).
exposure_ok()	# UNITFILE
{
	local line
	line=$(systemd-analyze security --offline=yes "$1" 2>/dev/null | grep 'Overall exposure level')
	echo "# $line"
	awk '{ for (i = 1; i < NF; i++) if ($i ~ /:$/) { v = $(i + 1); r = $(i + 2) } }
	     END { exit !(v != "" && v + 0 <= 4.9 && (r == "OK" || r == "SAFE" || r == "PERFECT")) }' <<<"$line"
}

# The units, with ExecStart= moved under DESTDIR (verify checks that the
# program exists and is executable) and man pages looked up in DESTDIR.
mkdir "$LAB_DIR/units"
for u in gangwayd gangway; do
	f=$P/lib/systemd/system/$u.service
	lab_check "$u.service installed" test -f "$f"
	lab_check "$u.service runs the PREFIX program" grep -Eq "^ExecStart=/usr/local/s?bin/$u " "$f"
	sed "s|^ExecStart=/|ExecStart=$D/|" "$f" >"$LAB_DIR/units/$u.service"
	lab_check "$u.service passes systemd-analyze verify" \
		env MANPATH="$P/share/man" systemd-analyze verify "$LAB_DIR/units/$u.service"
	lab_check "$u.service is Type=notify with a watchdog" \
		bash -c "grep -qx Type=notify $f && grep -q '^WatchdogSec=' $f"
	lab_check "$u.service: systemd-analyze security rates it OK or better" \
		exposure_ok "$LAB_DIR/units/$u.service"
done

lab_check "the tmpfiles.d entry is installed" test -f "$P/lib/tmpfiles.d/gangway.conf"

man_clean()	# FILE: renders, and not one warning on stderr
{
	local err
	err=$(MANWIDTH=80 man --warnings -l "$1" 2>&1 >"$LAB_DIR/man.out") || return 1
	[ -z "$err" ] || { echo "$err"; return 1; }
	[ "$(wc -l <"$LAB_DIR/man.out")" -gt 20 ] || { echo "$1 rendered short"; return 1; }
}
for m in man8/gangway.8 man8/gangwayd.8 man5/gangway.conf.5; do
	lab_check "$m renders without warnings" man_clean "$P/share/man/$m"
done
# The check is able to fail: a page with an undefined macro.
sed 's/^\.Sh DESCRIPTION$/.Zz DESCRIPTION/' "$P/share/man/man8/gangwayd.8" >"$LAB_DIR/bad.8"
lab_check_fail "a broken page is caught" man_clean "$LAB_DIR/bad.8"

KEY=$("$P/bin/gangway" genkey)
for e in gangway.conf gangwayd.conf; do
	(umask 077; sed "s|<[^>]*>|$KEY|" "$P/share/doc/gangway/$e.example" >"$LAB_DIR/$e")
	lab_check "the $e example is valid" "$P/sbin/gangwayd" --check -c "$LAB_DIR/$e"
done

# The macOS launchd job (systemd/gangway.up.plist, not installed here): well-formed, runs
# `gangway up` from where the README installs it, restarts after a crash.
plist_ok()
{
	python3 - "$LAB_REPO/systemd/gangway.up.plist" <<'PY'
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
a = p["ProgramArguments"]
assert a[0] == "/usr/local/bin/gangway" and a[1:3] == ["up", "-c"], a
assert p["RunAtLoad"] is True and p["KeepAlive"] == {"SuccessfulExit": False}, p
PY
}
lab_check "the launchd plist parses and runs gangway up" plist_ok

lab_check "make uninstall" \
	make -s --no-print-directory BUILD="$B" DESTDIR="$D" PREFIX=/usr/local uninstall
lab_check "...leaves no file behind" bash -c "[ -z \"\$(find $D -type f)\" ]"

# PREFIX=/usr: programs and the units' ExecStart= follow.
lab_check "make install PREFIX=/usr" \
	make -s --no-print-directory BUILD="$B" DESTDIR="$D" PREFIX=/usr install
lab_check "gangwayd.service starts /usr/sbin/gangwayd" \
	grep -q "^ExecStart=/usr/sbin/gangwayd " "$D/usr/lib/systemd/system/gangwayd.service"
lab_check "gangway.service starts /usr/bin/gangway" \
	grep -q "^ExecStart=/usr/bin/gangway up " "$D/usr/lib/systemd/system/gangway.service"
lab_done
