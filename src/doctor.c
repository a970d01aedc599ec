/* doctor.c - `gangway doctor`: the report, and the checks every platform makes
 *
 * Theory of operation: each link is checked in the order packets need them
 * (configuration, keys, the running daemon, the handshake, the route, then
 * on the guest the firewall, forwarding, rp_filter and MTU) and a probe
 * finally tests the whole way. The daemon's state comes from its control
 * socket, read into a struct by doctor_status.c. A failed link is reported
 * with the fix; the checks that depend on it are not run, so the first
 * failure is the answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto.h"
#include "ctlsock_client.h"
#include "doctor.h"

void doctor_ok(const char *fmt, ...)
{
	va_list ap;

	fputs("ok    ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void doctor_fail(struct doctor *d, const char *fix, const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL  ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fix)
		printf("      Fix: %s\n", fix);
	d->fails++;
}

int doctor_read_int(const char *path, long *v)
{
	char buf[32];
	FILE *f = fopen(path, "re");
	int ret = -EIO;

	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f)) {
		*v = strtol(buf, NULL, 10);
		ret = 0;
	}
	fclose(f);
	return ret;
}

bool doctor_check_config(struct doctor *d)
{
	char err[CONFIG_ERR_LEN];

	if (config_load(&d->c, d->conf_path, err, sizeof(err))) {
		doctor_fail(d, "correct the file; 'gangway up -n -c FILE' (or 'gangwayd -n') "
			    "checks it without starting", "The configuration cannot be used: %s", err);
		return false;
	}
	doctor_ok("The configuration %s parses: interface %s, %zu peer(s).", d->conf_path,
		  d->c.ifname, d->c.n_peers);
	return true;
}

bool doctor_check_keys(struct doctor *d)
{
	uint8_t pub[KEY_LEN];
	char b64[KEY_B64_LEN + 1];
	bool ok = true;

	if (!d->c.has_private_key || key_is_zero(d->c.private_key)) {
		doctor_fail(d, "'gangway genkey' makes one; put it in [Interface] PrivateKey",
			    "The configuration has no private key.");
		return false;
	}
	if (crypto_x25519_pubkey(pub, d->c.private_key)) {
		doctor_fail(d, NULL, "The private key is not usable.");
		return false;
	}
	key_to_base64(b64, pub);
	for (size_t i = 0; i < d->c.n_peers; i++) {
		if (!d->c.peers[i].has_public_key) {
			doctor_fail(d, "add the other side's public key ('gangway pubkey' prints it)",
				    "Peer %zu has no PublicKey.", i + 1);
			ok = false;
		} else if (!memcmp(d->c.peers[i].public_key, pub, KEY_LEN)) {
			doctor_fail(d, "the [Peer] PublicKey must be the other side's key",
				    "Peer %zu's PublicKey is our own public key.", i + 1);
			ok = false;
		}
	}
	if (ok)
		doctor_ok("Keys are present; our public key is %s (the peer's [Peer] "
			  "PublicKey must be exactly this).", b64);
	return ok;
}

bool doctor_check_daemon(struct doctor *d, const char *sock_opt)
{
	char fix[600], *err = NULL;
	int ret;

	if (sock_opt)
		snprintf(d->sock, sizeof(d->sock), "%s", sock_opt);
	else if (ctlsock_path(&d->c, d->sock, sizeof(d->sock)))
		d->sock[0] = '\0';
	ret = doctor_status_read(d->sock, &d->st, &err);
	if (ret) {
		snprintf(fix, sizeof(fix), "start it ('gangway up -c %s' on the host, "
			 "'systemctl start gangwayd' in the VM)", d->conf_path);
		doctor_fail(d, fix, "The tunnel is down: no daemon answers on %s (%s).", d->sock,
			    err ? err : strerror(-ret));
		free(err);
		return false;
	}
	d->guest = d->st.guest;
	if (d->st.has_info)
		snprintf(d->tun, sizeof(d->tun), "%s", d->st.interface);
	else
		snprintf(d->tun, sizeof(d->tun), "%s", d->c.ifname);
	doctor_ok("The %s daemon is running; its tunnel device is %s.",
		  d->guest ? "guest" : "host", d->tun);
	return true;
}

/* Every configured peer has a session; otherwise, why not. */
/* Every configured peer has a session; otherwise, why not. */
bool doctor_check_handshakes(struct doctor *d)
{
	bool all = true;

	for (size_t i = 0; i < d->c.n_peers; i++) {
		char b64[KEY_B64_LEN + 1];
		double age = -1, mac1 = d->st.bad_mac1, hs_dev = d->st.bad_handshake;

		key_to_base64(b64, d->c.peers[i].public_key);
		for (size_t k = 0; k < d->st.n_peers; k++)
			if (!strcmp(d->st.peers[k].key, b64) && d->st.peers[k].has_age)
				age = d->st.peers[k].age;
		if (age >= 0 && age <= DOCTOR_SESSION_MAX) {
			doctor_ok("The handshake with peer %s is %.0f s old: the tunnel is up.",
				  b64, age);
			continue;
		}
		all = false;
		if (age < 0)
			doctor_fail(d, NULL, "No handshake with peer %s has completed.", b64);
		else
			doctor_fail(d, NULL, "The last handshake with peer %s was %.0f s ago: "
				    "the session has expired and the peer is silent.", b64, age);
		if (mac1 > 0)
			printf("      %.0f handshake message(s) arrived for a public key other than "
			       "ours (failed mac1): the peer's [Peer] PublicKey is wrong.\n"
			       "      Fix: set the peer's PublicKey to our key (above).\n", mac1);
		else if (hs_dev > 0)
			printf("      %.0f handshake(s) came from a key this side does not know: "
			       "our [Peer] PublicKey is not the peer's.\n"
			       "      Fix: 'gangway pubkey' of the peer's private key, into our "
			       "[Peer] PublicKey.\n", hs_dev);
		else
			printf("      Nothing valid arrived from it. Fix: check that the peer runs, "
			       "its Endpoint (host:port) and that UDP passes between the two.\n");
	}
	return all;
}

bool doctor_check_route(struct doctor *d, const struct prefix *ip, const char *ipstr)
{
#ifdef __linux__
	char dev[IF_NAMESIZE] = "", pfx[PREFIX_STRLEN], fix[400], why[64];
	bool have = doctor_net_prefix_for(d, ip, "installed", pfx, sizeof(pfx), NULL, 0);
	int ret = doctor_net_route_get(ip->family, ip->addr.b, dev, sizeof(dev));

	if (ret < 0) {
		if (have) {
			snprintf(fix, sizeof(fix), "'ip route add %s dev %s', or restart the host "
				 "agent, which installs it again", pfx, d->tun);
			doctor_fail(d, fix, "This machine has no route to %s, though the guest's "
				    "prefix %s is accepted: the route was removed.", ipstr, pfx);
		} else if (!d->guest &&
			   doctor_net_prefix_for(d, ip, "refused", pfx, sizeof(pfx), why, sizeof(why))) {
			doctor_fail(d, "'gangway status' and the host agent's log name what holds "
				    "it: remove or narrow that route, or remap the guest's network "
				    "(Remap = GUEST=HOST in the host's [Peer])",
				    "This machine has no route to %s: the guest's prefix %s is "
				    "refused (%s).", ipstr, pfx, why[0] ? why : "no reason given");
		} else {
			doctor_fail(d, "make sure the container's network is on a bridge gangwayd "
				    "watches (Bridges =) and is advertised ('gangway status' in the "
				    "VM), or list it in the host's AllowedIPs",
				    "This machine has no route to %s (%s).", ipstr, strerror(-ret));
		}
		return false;
	}
	if (d->guest) {
		doctor_ok("In the VM, %s is reached through %s.", ipstr, dev);
		return true;
	}
	if (strcmp(dev, d->tun)) {
		snprintf(fix, sizeof(fix), "remove or narrow that route, or remap the guest's "
			 "network (Remap = GUEST=HOST in the host's [Peer])");
		doctor_fail(d, fix, "Traffic to %s leaves through %s, not the tunnel %s: "
			    "another route shadows %s.", ipstr, dev, d->tun,
			    have ? pfx : "the container's network");
		return false;
	}
	if (have)
		doctor_ok("This machine routes %s through the tunnel %s (guest prefix %s).",
			  ipstr, d->tun, pfx);
	else
		doctor_ok("This machine routes %s through the tunnel %s.", ipstr, d->tun);
	return true;
#else
	(void)d;
	(void)ip;
	(void)ipstr;
	doctor_ok("Route check skipped: not implemented on this system.");
	return true;
#endif
}

/* The device the kernel would send to addr through (netif), where the system has one. */
static int doctor_mtu_route(int family, const void *addr, char *dev, size_t devlen)
{
#ifdef __linux__
	return doctor_net_route_get(family, addr, dev, devlen);
#else
	(void)family;
	(void)addr;
	(void)dev;
	(void)devlen;
	return -EOPNOTSUPP;
#endif
}

void doctor_check_mtu(struct doctor *d)
{
	char path[128], ep[DOCTOR_ENDPOINT_LEN] = "", dev[IF_NAMESIZE] = "", host[INET6_ADDRSTRLEN];
	long tun_mtu = 0, out_mtu = 0, want;
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon;
	size_t hl;
	int fam;

	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", d->tun);
	if (doctor_read_int(path, &tun_mtu)) {
		doctor_ok("MTU not checked (no %s).", path);
		return;
	}
	want = d->c.mtu ? (long)d->c.mtu : CONFIG_DEFAULT_MTU;
	if (tun_mtu != want) {
		doctor_fail(d, "restart the daemon, or set MTU = in [Interface] to what you want",
			    "The tunnel's MTU is %ld, the configuration says %ld.", tun_mtu, want);
		return;
	}
	/* The outer path: the tunnel MTU plus the overhead must fit the uplink. */
	if (d->st.n_peers)
		snprintf(ep, sizeof(ep), "%s", d->st.peers[0].endpoint);
	if (!ep[0] || !(colon = strrchr(ep, ':'))) {
		doctor_ok("The tunnel's MTU is %ld (no peer endpoint to check the path).", tun_mtu);
		return;
	}
	hl = (size_t)(colon - ep);
	if (ep[0] == '[' && hl >= 2) {
		memcpy(host, ep + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		memcpy(host, ep, hl < sizeof(host) ? hl : sizeof(host) - 1);
		host[hl < sizeof(host) ? hl : sizeof(host) - 1] = '\0';
	}
	fam = inet_pton(AF_INET, host, &a4) == 1 ? AF_INET :
	      inet_pton(AF_INET6, host, &a6) == 1 ? AF_INET6 : 0;
	if (!fam || doctor_mtu_route(fam, fam == AF_INET ? (void *)&a4 : (void *)&a6, dev,
				     sizeof(dev)) < 0) {
		doctor_ok("The tunnel's MTU is %ld (no route to the endpoint %s).", tun_mtu, ep);
		return;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", dev);
	if (doctor_read_int(path, &out_mtu) || tun_mtu + (fam == AF_INET ? 60 : 80) <= out_mtu) {
		doctor_ok("The tunnel's MTU is %ld and fits the way to %s (through %s, MTU %ld).",
			  tun_mtu, ep, dev, out_mtu);
		return;
	}
	doctor_fail(d, "lower MTU in [Interface] on both sides (80 below the uplink's)",
		    "The tunnel's MTU %ld plus %d bytes of WireGuard overhead exceeds %s's MTU "
		    "%ld: large packets are lost.", tun_mtu, fam == AF_INET ? 60 : 80, dev,
		    out_mtu);
}

/* Sum of a per-peer packet counter (tx, else rx) over all peers, fresh from the daemon. */
static double doctor_counter(struct doctor *d, bool tx)
{
	static struct doctor_status st;	/* large: not on the stack */
	double sum = 0;

	if (doctor_status_read(d->sock, &st, NULL))
		return -1;
	for (size_t i = 0; i < st.n_peers; i++)
		sum += tx ? st.peers[i].tx_packets : st.peers[i].rx_packets;
	return sum;
}

static void doctor_guest_finding(void *ctx, const char *text, const char *fix)
{
	doctor_fail(ctx, fix[0] ? fix : NULL, "The guest reports: %s", text);
}

/*
 * What the guests told the host their own firewall check found (the
 * status's "guest firewall" lines): each as a failure of its own, the
 * guest's word and fix; the guest's whose prefix holds ip, when one does.
 * Nothing when the daemon cannot say.
 */
static void doctor_guest_findings(struct doctor *d, const struct prefix *ip)
{
	char *body = NULL;

	if (!ctlsock_client_request(d->sock, "status", &body) && body)
		doctor_status_findings(body, ip, doctor_guest_finding, d);
	free(body);
}

static double doctor_probe_ping(const struct prefix *ip, int tries)
{
#ifdef __linux__
	return doctor_net_ping(ip, tries);
#else
	(void)ip;
	(void)tries;
	return -EOPNOTSUPP;
#endif
}

bool doctor_probe(struct doctor *d, const struct prefix *ip, const char *ipstr)
{
	double rx0, tx0, rx1, tx1, ms;

	rx0 = doctor_counter(d, false);
	tx0 = doctor_counter(d, true);
	ms = doctor_probe_ping(ip, 3);
	if (ms >= 0) {
		doctor_ok("%s answers a ping in %.1f ms.", ipstr, ms);
		return true;
	}
	if (ms != -ETIMEDOUT) {
		doctor_fail(d, "run as root", "Cannot send the ping probe: %s.", strerror((int)-ms));
		return false;
	}
	rx1 = doctor_counter(d, false);
	tx1 = doctor_counter(d, true);
	if (d->guest) {
		doctor_fail(d, "check the container is up and answers ping (its own firewall)",
			    "%s does not answer a ping from the VM itself.", ipstr);
	} else if (tx1 <= tx0) {
		doctor_fail(d, "see the route check above", "The probe to %s never entered the "
			    "tunnel.", ipstr);
	} else if (rx1 <= rx0) {
		doctor_fail(d, "run 'gangway doctor -c /etc/gangway/gangwayd.conf IP' in the VM; "
			    "check that gangwayd runs there",
			    "The probe to %s went into the tunnel (%.0f packet(s)) but nothing came "
			    "back: the far end of the tunnel is down, or the VM does not forward "
			    "to the container.", ipstr, tx1 - tx0);
		doctor_guest_findings(d, ip);
	} else {
		doctor_fail(d, "run 'gangway doctor IP' in the VM (firewall, forwarding)",
			    "The probe to %s went through the tunnel and something came back, "
			    "but no answer from %s: the VM or the container drops it.", ipstr,
			    ipstr);
		doctor_guest_findings(d, ip);
	}
	return false;
}
