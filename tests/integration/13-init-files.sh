#!/usr/bin/env bash
# `gangway init` writes private keys only where nobody else can redirect
# them: a symlink at the target is replaced, never followed (the file it
# points to is untouched, even with --force as root); the files are regular
# and 0600; a directory that others can write to or that another user owns
# is refused; a missing directory is created with mode 0700; every error
# message ends in a newline; no temporary file is left behind.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
T=$LAB_DIR/init
mkdir -m 0755 "$T"

# init DIR [ARGS...]: run gangway init, stderr to $T/err, stdout to $T/out
init() { "$GW_GANGWAY" init -d "$@" -e 192.0.2.1 >"$T/out" 2>"$T/err"; }
# the error output is one or more lines, each ended by a newline
err_ends_in_newline() { [ -s "$T/err" ] && [ "$(tail -c 1 "$T/err" | od -An -c | tr -d ' ')" = '\n' ]; }
# only the two configurations in DIR: no temporary file left over
only_confs() { [ "$(ls -A "$1" | tr '\n' ' ')" = "gangway.conf gangwayd.conf " ]; }
regular_0600() { [ ! -L "$1" ] && [ -f "$1" ] && [ "$(stat -c %a "$1")" = 600 ]; }

# A symlink in place of gangway.conf, pointing at a file the attacker wants
# overwritten with a private key.
D=$T/sym
mkdir -m 0700 "$D"
echo "victim's own contents" >"$T/victim"
chmod 644 "$T/victim"
ln -s "$T/victim" "$D/gangway.conf"
lab_check_fail "without --force, a symlink at the target is refused" init "$D"
lab_check "  ... with a message ending in a newline" err_ends_in_newline
lab_check "  ... and its target untouched" \
	bash -c "[ \"\$(cat $T/victim)\" = \"victim's own contents\" ] && [ \$(stat -c %a $T/victim) = 644 ]"
lab_check "  ... and gangwayd.conf not written either" test ! -e "$D/gangwayd.conf"
lab_check "with --force, init succeeds" init "$D" --force
lab_check "  ... the symlink's target is untouched" \
	bash -c "[ \"\$(cat $T/victim)\" = \"victim's own contents\" ] && [ \$(stat -c %a $T/victim) = 644 ]"
lab_check "  ... gangway.conf is now a regular file of mode 0600" regular_0600 "$D/gangway.conf"
lab_check "  ... holding a private key" grep -q '^PrivateKey = ' "$D/gangway.conf"
lab_check "  ... gangwayd.conf too" regular_0600 "$D/gangwayd.conf"
lab_check "  ... no temporary file is left" only_confs "$D"

# A dangling symlink (to where a file would be created) is not followed.
D=$T/dangling
mkdir -m 0700 "$D"
ln -s "$T/created-through-link" "$D/gangwayd.conf"
lab_check "with --force, a dangling symlink is replaced" init "$D" --force
lab_check "  ... nothing was created where it pointed" test ! -e "$T/created-through-link"
lab_check "  ... gangwayd.conf is a regular file of mode 0600" regular_0600 "$D/gangwayd.conf"

# --force replaces an existing file with the new contents, mode 0600 even
# if the old file was world-readable.
D=$T/existing
mkdir -m 0700 "$D"
echo old >"$D/gangway.conf"
chmod 644 "$D/gangway.conf"
lab_check_fail "without --force, an existing file is refused" init "$D"
lab_check "  ... with a message ending in a newline" err_ends_in_newline
lab_check "  ... and left as it was" bash -c "[ \"\$(cat $D/gangway.conf)\" = old ]"
lab_check "with --force, it is replaced" init "$D" --force
lab_check "  ... by a new 0600 file" bash -c \
	"grep -q '^PrivateKey = ' $D/gangway.conf && [ \$(stat -c %a $D/gangway.conf) = 600 ]"
lab_check "  ... no temporary file is left" only_confs "$D"

# Directories that someone else could write into are refused.
for mode in 0777 0775 0757 0770; do
	D=$T/mode$mode
	mkdir "$D"
	chmod "$mode" "$D"
	lab_check_fail "a directory of mode $mode is refused" init "$D" --force
	lab_check "  ... with a message saying why, ending in a newline" \
		bash -c "grep -q 'writable by' $T/err && [ \"\$(tail -c 1 $T/err | od -An -c | tr -d ' ')\" = '\\n' ]"
	lab_check "  ... and nothing is written there" bash -c "[ -z \"\$(ls -A $D)\" ]"
done
D=$T/sticky
mkdir "$D"
chmod 1777 "$D"
lab_check_fail "a sticky world-writable directory (like /tmp) is refused too" init "$D"
lab_check "  ... with a message saying why" grep -q 'writable by everyone' "$T/err"
lab_check "  ... and nothing is written there" bash -c "[ -z \"\$(ls -A $D)\" ]"
D=$T/nobody
mkdir -m 0700 "$D"
chown 65534 "$D"
lab_check_fail "a directory owned by another user is refused" init "$D" --force
lab_check "  ... with a message saying why, ending in a newline" \
	bash -c "grep -q 'owned by uid 65534' $T/err && [ \"\$(tail -c 1 $T/err | od -An -c | tr -d ' ')\" = '\\n' ]"
lab_check "  ... and nothing is written there" bash -c "[ -z \"\$(ls -A $D)\" ]"

# A missing directory (the README's `gangway init -d ~/.gangway`) is made,
# with its missing parents, each of mode 0700 whatever the umask.
D=$T/home/.gangway
lab_check "a missing directory is created" bash -c "umask 022; $(declare -f init); T=$T GW_GANGWAY=$GW_GANGWAY init $D"
lab_check "  ... with mode 0700" bash -c "[ \$(stat -c %a $D) = 700 ]"
lab_check "  ... its missing parent too" bash -c "[ \$(stat -c %a $T/home) = 700 ]"
lab_check "  ... and both files in it" bash -c "[ -f $D/gangway.conf ] && [ -f $D/gangwayd.conf ]"
lab_check "  ... init says it created it" grep -q "created $D" "$T/out"
lab_check "the pair works together: the guest's peer key is the host's public key" bash -c \
	"[ \"\$(sed -n 's/^PrivateKey = //p' $D/gangway.conf | $GW_GANGWAY pubkey)\" = \"\$(sed -n 's/^PublicKey = //p' $D/gangwayd.conf)\" ]"
lab_check_fail "a directory that cannot be created is an error" init /proc/gangway-nonexistent
lab_check "  ... with a message ending in a newline" err_ends_in_newline

lab_done
