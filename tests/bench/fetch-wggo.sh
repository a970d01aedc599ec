#!/usr/bin/env bash
# fetch-wggo.sh - unpack the newest Debian wireguard-go (TUN/UDP offloads) under DIR
#
#   tests/bench/fetch-wggo.sh DIR [SUITE]   leaves DIR/usr/bin/wireguard-go
#
# Debian 12's wireguard-go (2022) has none of the offloads the current one
# has, so the benchmark compares against the newest Debian has: SUITE is
# unstable (sid) unless given (trixie: Debian 13's). The package is fetched
# with apt-get under a private sources list and state directory: the
# system's apt configuration is left alone. Nothing is installed.
set -euo pipefail

dir=${1:?usage: fetch-wggo.sh DIR [SUITE]}
suite=${2:-sid}
[[ -x $dir/usr/bin/wireguard-go && -s $dir/VERSION ]] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$dir"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
	>"$tmp/sources.list"
opts=(-q -o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/nonexistent
      -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache"
      -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update >"$tmp/update.log" 2>&1 || { cat "$tmp/update.log" >&2; exit 1; }
(cd "$tmp" && apt-get "${opts[@]}" download wireguard-go >"$tmp/download.log" 2>&1) ||
	{ cat "$tmp/download.log" >&2; exit 1; }
dpkg -x "$tmp"/wireguard-go_*.deb "$dir"
# its --version can be older than the package (a stale string in the source)
echo "wireguard-go $(dpkg-deb -f "$tmp"/wireguard-go_*.deb Version), Debian $suite" >"$dir/VERSION"
cat "$dir/VERSION"
