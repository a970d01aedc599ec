#!/usr/bin/env bash
# The control socket and `gangway status` on a running pair: text, JSON
# (valid, with the documented fields and live counters) and Prometheus
# output from both daemons; the socket is mode 0600; malformed, oversized
# and idle requests get an error or are dropped, and the daemon lives on;
# a user other than root is refused. The guest has ControlGroup: its socket is
# 0660 with that group, a member (supplementary or primary group) reads its
# status, anyone else is refused by the file mode and by the daemon itself.
# "reload" (gangway reload) re-reads the configuration as SIGHUP does, and a
# broken file is refused with the reason while the daemon runs on.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
# A group for the guest's control socket, and a user in it (removed at cleanup).
GRP=$LAB_RUN MEMBER=${LAB_RUN}u
groupadd -r "$GRP"
lab_on_cleanup groupdel "$GRP"
useradd -r -M -N -s /usr/sbin/nologin -G "$GRP" "$MEMBER"
lab_on_cleanup userdel "$MEMBER"
GID=$(getent group "$GRP" | cut -d: -f3)
# The guest's socket in the lab's directory too, not the default /run/gangway.
printf "StateDirectory = %s/gstate\nBridges = %sb*\nControlGroup = %s\n" "$LAB_DIR" "$LAB_RUN" \
	"$GRP" >>"$LAB_DIR/guest.conf"
gw_pair_start
HSOCK=$LAB_DIR/state/$HOST_IF.sock
GSOCK=$LAB_DIR/gstate/$GUEST_IF.sock

lab_check "the host reaches the container" gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"
lab_check "the host agent's socket exists, mode 0600, owned by root" \
	bash -c "[ -S '$HSOCK' ] && [ \$(stat -c %a:%u '$HSOCK') = 600:0 ]"
lab_check "the guest daemon's socket exists, mode 0660, group $GRP (ControlGroup)" \
	bash -c "[ -S '$GSOCK' ] && [ \$(stat -c %a:%u:%G '$GSOCK') = 660:0:$GRP ]"
lab_check "...in a directory the group may enter, and no one else" \
	bash -c "[ \$(stat -c %a:%G '$LAB_DIR/gstate') = 710:$GRP ]"

st() { "$GW_GANGWAY" status "$@"; }
lab_check "status -c host.conf names the peer, its endpoint and a handshake" bash -c \
	"out=\$('$GW_GANGWAY' status -c '$LAB_DIR/host.conf'); echo \"\$out\";
	 grep -qF 'peer: $(cat "$LAB_DIR/guest.pub")' <<<\"\$out\" &&
	 grep -q 'endpoint: $LAB_VM_IP4:51821' <<<\"\$out\" &&
	 grep -qE 'latest handshake: [0-9]+ seconds ago' <<<\"\$out\" &&
	 grep -q 'prefix $NET installed' <<<\"\$out\""
lab_check "status on the guest names the firewall and the advertised prefix" bash -c \
	"out=\$('$GW_GANGWAY' status --socket '$GSOCK'); echo \"\$out\";
	 grep -qE '^  firewall: ' <<<\"\$out\" && grep -q '^  $NET\$' <<<\"\$out\" &&
	 grep -q 'acknowledged' <<<\"\$out\""

# JSON: valid, and the fields the schema documents, with live values.
st -j -c "$LAB_DIR/host.conf" >"$LAB_DIR/host.json"
st -j --socket "$GSOCK" >"$LAB_DIR/guest.json"
lab_check "status -j is valid JSON (host)" python3 -m json.tool "$LAB_DIR/host.json"
lab_check "status -j is valid JSON (guest)" python3 -m json.tool "$LAB_DIR/guest.json"
lab_check "host JSON: schema, role, peer key, counters, installed prefix" python3 - \
	"$LAB_DIR/host.json" "$(cat "$LAB_DIR/guest.pub")" "$NET" "$HOST_IF" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["role"] == "host" and d["interface"] == sys.argv[4], d
assert d["firewall"] is None
p = d["peers"][0]
assert p["public_key"] == sys.argv[2], p
assert p["endpoint"].endswith(":51821"), p
assert 0 <= p["last_handshake_age"] < 60 and p["handshakes"] >= 1, p
assert p["rx_packets"] > 0 and p["tx_packets"] > 0 and p["rx_bytes"] > 0, p
assert set(p["drops"]) >= {"bad-mac1", "replay", "not-allowed", "no-peer"}, p["drops"]
assert all(isinstance(v, int) for v in p["drops"].values())
assert {"prefix": sys.argv[3], "state": "installed"} in p["prefixes"], p["prefixes"]
print("ok")
PY
lab_check "guest JSON: firewall mechanism and acknowledged advertisement" python3 - \
	"$LAB_DIR/guest.json" "$NET" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["role"] == "guest" and isinstance(d["firewall"], str) and d["firewall"], d
a = d["advertisement"]
assert a["acknowledged"] is True and a["generation"] >= 1, a
assert sys.argv[2] in [x["prefix"] for x in a["prefixes"]], a
print("ok")
PY

# Counters move: ping 5 more times, rx_packets grows by at least 5.
rx() { st -j -c "$LAB_DIR/host.conf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["rx_packets"])'; }
R0=$(rx)
lab_exec host ping -c 5 -i 0.2 -W 1 "$CIP" >/dev/null
R1=$(rx)
lab_check "rx_packets counts the replies ($R0 -> $R1)" test "$R1" -ge "$((R0 + 5))"

lab_check "prometheus: counters with HELP/TYPE, one sample per drop reason" bash -c \
	"out=\$('$GW_GANGWAY' status --prometheus -c '$LAB_DIR/host.conf');
	 grep -q '^# TYPE gangway_peer_rx_packets_total counter\$' <<<\"\$out\" &&
	 grep -qE '^gangway_peer_rx_packets_total\{interface=\"$HOST_IF\",peer=\"[^\"]+\"\} [1-9][0-9]*\$' <<<\"\$out\" &&
	 grep -qE '^gangway_peer_drops_total\{.*reason=\"bad-mac1\"\} [0-9]+\$' <<<\"\$out\" &&
	 [ \$(grep -cE '^gangway_pktio_drops_total\{interface=\"$HOST_IF\",reason=\"[a-z-]+\"\} [0-9]+\$' <<<\"\$out\") = 5 ] &&
	 grep -q '^gangway_prefixes{interface=\"$HOST_IF\",state=\"installed\"} 1\$' <<<\"\$out\" ||
	 { echo \"\$out\"; exit 1; }"
lab_check "prometheus on the guest: gangway_info names the firewall" bash -c \
	"'$GW_GANGWAY' status --prometheus --socket '$GSOCK' | grep -qE '^gangway_info\{interface=\"$GUEST_IF\",role=\"guest\",firewall=\"[a-z-]+\"\} 1\$'"

# A guest prefix the host refuses (a host route lies inside it): reported with its reason.
N3=$(lab_subnet4 3)
ip -n "$(lab_ns host)" route add "${N3%.0/24}.0/25" via "$LAB_VM_IP4"
lab_bridge_add br-lan "$N3"
lab_check "a refused prefix is listed with its reason" gw_until 5 bash -c \
	"'$GW_GANGWAY' status -c '$LAB_DIR/host.conf' | grep -qxF '  prefix $N3 refused (shadowed by a host route)'"
lab_check "...in JSON too, beside the installed one" bash -c \
	"'$GW_GANGWAY' status -j -c '$LAB_DIR/host.conf' | python3 -c '
import json, sys
p = json.load(sys.stdin)[\"peers\"][0][\"prefixes\"]
assert {\"prefix\": \"$N3\", \"state\": \"refused\", \"reason\": \"shadowed by a host route\"} in p, p
assert {\"prefix\": \"$NET\", \"state\": \"installed\"} in p, p'"
lab_check "...and counted in the metrics" bash -c \
	"'$GW_GANGWAY' status --prometheus -c '$LAB_DIR/host.conf' | grep -qxF 'gangway_prefixes{interface=\"$HOST_IF\",state=\"refused\"} 1'"

# Raw requests through the socket (python: exact bytes, read to EOF).
raw() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(eval(sys.argv[2]))
try:
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
out = b""
while True:
    try:
        b = s.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        break
    if not b:
        break
    out += b
print(out.split(b"\n")[0].decode(errors="replace"))
PY
}
lab_check "'bogus' -> error malformed request" bash -c \
	"[ \"$(raw "$HSOCK" 'b"bogus\n"')\" = 'error malformed request' ]"
lab_check "a NUL byte -> error malformed request" bash -c \
	"[ \"$(raw "$HSOCK" 'b"status\x00json\n"')\" = 'error malformed request' ]"
lab_check "binary junk -> error malformed request" bash -c \
	"[ \"$(raw "$HSOCK" 'bytes(range(1,256))+b"\n"')\" = 'error malformed request' ]"
lab_check "8 KiB without a newline -> error request too long" bash -c \
	"[ \"$(raw "$HSOCK" 'b"s"*8192')\" = 'error request too long' ]"
lab_check "a request without newline, ended by EOF, is answered" bash -c \
	"[ \"$(raw "$HSOCK" 'b"ping"')\" = 'ok' ]"
lab_check "an empty request -> error" bash -c \
	"[ \"$(raw "$HSOCK" 'b"\n"')\" = 'error malformed request' ]"
# Idle connections fill the client slots; after their timeout, service resumes.
for i in 1 2 3 4 5 6; do
	lab_bg host "$LAB_DIR/idle$i.log" python3 -c "import socket,time; s=socket.socket(socket.AF_UNIX); s.connect('$HSOCK'); time.sleep(30)" >/dev/null
done
sleep 3
lab_check "after idle clients time out, status works again" gw_until 5 bash -c \
	"'$GW_GANGWAY' status -c '$LAB_DIR/host.conf' >/dev/null"
lab_check "both daemons still run" kill -0 "$HOST_PID" "$GUEST_PID"
lab_check "the tunnel still carries traffic" lab_exec host ping -c 1 -W 2 "$CIP"

# A user other than root: the socket's mode refuses the connection, and the
# daemon's SO_PEERCRED check would refuse it anyway.
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
chmod 755 "$LAB_DIR" "$LAB_DIR/state"
lab_check_fail "a non-root user is refused" "${NOBODY[@]}" "$GW_GANGWAY" status --socket "$HSOCK"
lab_check "...and told so" bash -c \
	"'${NOBODY[0]}' ${NOBODY[*]:1} '$GW_GANGWAY' status --socket '$HSOCK' 2>&1 | grep -q 'Permission denied'"
chmod 666 "$HSOCK"
lab_check "with the socket opened up by hand, the daemon refuses nobody itself" bash -c \
	"'${NOBODY[0]}' ${NOBODY[*]:1} '$GW_GANGWAY' status --socket '$HSOCK' 2>&1 | grep -q 'the daemon answered: error permission denied'"
lab_check "the daemon is alive after all of it" kill -0 "$HOST_PID"

# ControlGroup on the guest: members in, everyone else out.
AS_MEMBER=(setpriv --reuid="$MEMBER" --regid="$(id -g "$MEMBER")" --init-groups)
lab_check "a member of ControlGroup (supplementary group) reads the status" bash -c \
	"out=\$(${AS_MEMBER[*]} '$GW_GANGWAY' status --socket '$GSOCK') &&
	 grep -q '^interface: $GUEST_IF (guest)' <<<\"\$out\" || { echo \"\$out\"; exit 1; }"
lab_check "...and the metrics" bash -c \
	"${AS_MEMBER[*]} '$GW_GANGWAY' status --prometheus --socket '$GSOCK' | grep -q '^gangway_info{'"
lab_check "a process whose primary group is ControlGroup is let in" \
	setpriv --reuid=65534 --regid="$GID" --clear-groups "$GW_GANGWAY" status --socket "$GSOCK"
lab_check_fail "a user outside ControlGroup is refused" "${NOBODY[@]}" "$GW_GANGWAY" status --socket "$GSOCK"
lab_check "...by the socket's mode" bash -c \
	"'${NOBODY[0]}' ${NOBODY[*]:1} '$GW_GANGWAY' status --socket '$GSOCK' 2>&1 | grep -q 'Permission denied'"
chmod 711 "$LAB_DIR/gstate"
chmod 666 "$GSOCK"
lab_check "...and by the daemon itself (SO_PEERCRED), the socket opened up by hand" bash -c \
	"'${NOBODY[0]}' ${NOBODY[*]:1} '$GW_GANGWAY' status --socket '$GSOCK' 2>&1 | grep -q 'the daemon answered: error permission denied'"
chmod 660 "$GSOCK"
chmod 710 "$LAB_DIR/gstate"

# reload: the same as SIGHUP, answered on the socket.
# (gw_until: the idle clients above may still hold the host's slots for 2 s.)
lab_check "gangway reload: the host agent reloads" gw_until 5 bash -c \
	"'$GW_GANGWAY' reload -c '$LAB_DIR/host.conf' | grep -q 'reloaded'"
lab_check "...and logs it" gw_wait_log "$LAB_DIR/host.log" "Configuration reloaded" 5
lab_check "a raw 'reload' request is answered 'ok'" bash -c \
	"[ \"$(raw "$GSOCK" 'b"reload\n"')\" = ok ]"
lab_check "a member of ControlGroup may reload too" "${AS_MEMBER[@]}" "$GW_GANGWAY" reload --socket "$GSOCK"
cp "$LAB_DIR/guest.conf" "$LAB_DIR/guest.conf.good"
echo "Bogus = 1" >>"$LAB_DIR/guest.conf"
BAD=$(grep -c '' "$LAB_DIR/guest.conf")
lab_check_fail "a broken configuration: reload fails" "$GW_GANGWAY" reload --socket "$GSOCK"
lab_check "...saying where and why" bash -c \
	"'$GW_GANGWAY' reload --socket '$GSOCK' 2>&1 | grep -qF \"the daemon answered: error $LAB_DIR/guest.conf:$BAD: unknown key 'Bogus' in [Gangway]\""
lab_check "...and the daemon runs on with the old configuration" bash -c \
	"kill -0 $GUEST_PID && '$GW_GANGWAY' status --socket '$GSOCK' | grep -q '^interface: $GUEST_IF'"
sed 's/^ListenPort = .*/ListenPort = 51999/' "$LAB_DIR/guest.conf.good" >"$LAB_DIR/guest.conf"
lab_check "a change only a restart can make: refused with the reason" bash -c \
	"'$GW_GANGWAY' reload --socket '$GSOCK' 2>&1 | grep -q 'error PrivateKey, ListenPort, MTU, Interface, PacketIO and CryptoWorkers change only on restart'"
cp "$LAB_DIR/guest.conf.good" "$LAB_DIR/guest.conf"
lab_check "the configuration repaired: reload works again" "$GW_GANGWAY" reload --socket "$GSOCK"
lab_check "the tunnel still carries traffic after the reloads" lab_exec host ping -c 1 -W 2 "$CIP"

# A daemon that does not answer (stopped here) must not hang the command.
kill -STOP "$HOST_PID"
T0=$SECONDS
lab_check_fail "a stopped daemon: status fails" timeout 20 "$GW_GANGWAY" status --socket "$HSOCK"
lab_check "...within the client's 5 s wait" test $((SECONDS - T0)) -le 8
lab_check "...saying it did not answer" bash -c \
	"timeout 20 '$GW_GANGWAY' status --socket '$HSOCK' 2>&1 | grep -q 'did not answer'"
kill -CONT "$HOST_PID"
lab_check "status works again once it runs" gw_until 10 "$GW_GANGWAY" status --socket "$HSOCK"

lab_kill "$HOST_PID"
lab_check "the socket is removed at stop" bash -c "[ ! -e '$HSOCK' ]"
lab_done
