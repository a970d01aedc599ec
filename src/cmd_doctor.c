/* cmd_doctor.c - `gangway doctor [IP]`: walk the chain to a container, say where it breaks
 *
 * Theory of operation: each link is checked in the order packets need them
 * (configuration, keys, the running daemon, the handshake, the route, then
 * on the guest the firewall, forwarding, rp_filter and MTU) and a probe
 * finally tests the whole way. The daemon's state comes from its control
 * socket in the Prometheus format, which is line-based and trivial to read
 * back without a JSON parser. A failed link is reported with the fix; the
 * checks that depend on it are not run, so the first failure is the answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include "netif.h"
#endif

#include "cmd.h"
#include "config.h"
#include "crypto.h"
#include "csum.h"
#include "ctlsock_client.h"
#include "key.h"
#include "prefix.h"

#define DOCTOR_SESSION_MAX	180	/* Reject-After-Time: older means no session */

static const char cmd_doctor_usage[] =
	"Usage: gangway doctor [-c FILE | --socket PATH] [IP | NAME]\n\n"
	"Check every link between this machine and a container, in order, and say\n"
	"which one is broken and how to fix it: configuration, keys, the running\n"
	"daemon, the handshake, the route to IP (and any route shadowing it), and\n"
	"in the VM (-c /etc/gangway/gangwayd.conf) the firewall, forwarding,\n"
	"rp_filter and MTU. Given an IP (IPv4 or IPv6), a ping probe then tests\n"
	"the way. A NAME (such as web.gangway.internal) is first resolved through\n"
	"this machine's resolver, then its first address is diagnosed.\n"
	"Exit status 0 when healthy, 1 when not.\n\n"
	"  -c, --config FILE   configuration (default /etc/gangway/gangway.conf,\n"
	"                      else gangwayd.conf)\n"
	"  -s, --socket PATH   the daemon's control socket (default from the config)\n"
	"  -h, --help          this help\n";

struct doctor {
	const char *conf_path;
	struct config c;
	char sock[512];
	char *metrics;			/* the daemon's Prometheus text */
	char tun[IF_NAMESIZE];
	bool guest;
	int family;			/* of the IP to probe; 0 without one */
	int fails;
};

static void doctor_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void doctor_ok(const char *fmt, ...)
{
	va_list ap;

	fputs("ok    ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* fix may be NULL; the sentence is printed first, the fix indented below. */
static void doctor_fail(struct doctor *d, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void doctor_fail(struct doctor *d, const char *fix, const char *fmt, ...)
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

/*
 * The value of the first sample of metric name whose labels contain label
 * (NULL: any). false when there is none.
 */
static bool doctor_metric(const char *body, const char *name, const char *label, double *v)
{
	size_t nl = strlen(name);

	for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *end = strchr(p, '\n'), *close;

		if (strncmp(p, name, nl) || p[nl] != '{')
			continue;
		close = strstr(p, "} ");
		if (!close || (end && close > end))
			continue;
		if (label) {
			const char *hit = strstr(p, label);

			if (!hit || hit > close)
				continue;
		}
		*v = strtod(close + 2, NULL);
		return true;
	}
	return false;
}

/* The value of label key="..." in the first sample of name (with filter). */
static bool doctor_label(const char *body, const char *name, const char *filter,
			 const char *key, char *out, size_t size)
{
	size_t nl = strlen(name);
	char pat[64];

	snprintf(pat, sizeof(pat), "%s=\"", key);
	for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *end = strchr(p, '\n'), *hit, *q;

		if (strncmp(p, name, nl) || p[nl] != '{')
			continue;
		if (filter && (!(hit = strstr(p, filter)) || (end && hit > end)))
			continue;
		hit = strstr(p, pat);
		if (!hit || (end && hit > end))
			continue;
		hit += strlen(pat);
		q = strchr(hit, '"');
		if (!q || (size_t)(q - hit) >= size)
			return false;
		memcpy(out, hit, (size_t)(q - hit));
		out[q - hit] = '\0';
		return true;
	}
	return false;
}

static bool doctor_check_config(struct doctor *d)
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

static bool doctor_check_keys(struct doctor *d)
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

static bool doctor_check_daemon(struct doctor *d, const char *sock_opt)
{
	char fix[600];
	int ret;

	if (sock_opt)
		snprintf(d->sock, sizeof(d->sock), "%s", sock_opt);
	else if (ctlsock_path(&d->c, d->sock, sizeof(d->sock)))
		d->sock[0] = '\0';
	ret = ctlsock_client_request(d->sock, "prometheus", &d->metrics);
	if (ret) {
		snprintf(fix, sizeof(fix), "start it ('gangway up -c %s' on the host, "
			 "'systemctl start gangwayd' in the VM)", d->conf_path);
		doctor_fail(d, fix, "The tunnel is down: no daemon answers on %s (%s).", d->sock,
			    ret == -EPROTO && d->metrics ? d->metrics : strerror(-ret));
		return false;
	}
	d->guest = strstr(d->metrics, "role=\"guest\"") != NULL;
	if (!doctor_label(d->metrics, "gangway_info", NULL, "interface", d->tun, sizeof(d->tun)))
		snprintf(d->tun, sizeof(d->tun), "%s", d->c.ifname);
	doctor_ok("The %s daemon is running; its tunnel device is %s.",
		  d->guest ? "guest" : "host", d->tun);
	return true;
}

/* Every configured peer has a session; otherwise, why not. */
static bool doctor_check_handshakes(struct doctor *d)
{
	bool all = true;

	for (size_t i = 0; i < d->c.n_peers; i++) {
		char b64[KEY_B64_LEN + 1], lab[KEY_B64_LEN + 16];
		double age = -1, mac1 = 0, hs_dev = 0;

		key_to_base64(b64, d->c.peers[i].public_key);
		snprintf(lab, sizeof(lab), "peer=\"%s\"", b64);
		if (!doctor_metric(d->metrics, "gangway_peer_last_handshake_age_seconds", lab, &age))
			age = -1;
		if (age >= 0 && age <= DOCTOR_SESSION_MAX) {
			doctor_ok("The handshake with peer %s is %.0f s old: the tunnel is up.",
				  b64, age);
			continue;
		}
		all = false;
		doctor_metric(d->metrics, "gangway_device_drops_total", "reason=\"bad-mac1\"", &mac1);
		doctor_metric(d->metrics, "gangway_device_drops_total", "reason=\"handshake\"",
			      &hs_dev);
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

#ifdef __linux__
struct doctor_route {
	int oif;
	unsigned char type;
};

static int doctor_route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct doctor_route *r = data;
	const struct rtmsg *rtm;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_ERROR;
	rtm = mnl_nlmsg_get_payload(nlh);
	r->type = rtm->rtm_type;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			r->oif = (int)mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

/* `ip route get`: the interface the kernel would send to addr through. */
static int doctor_route_get(int family, const void *addr, char *dev, size_t devlen)
{
	char buf[8192];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct doctor_route r = { 0 };
	unsigned int seq = (unsigned int)time(NULL), portid;
	ssize_t n;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = family == AF_INET ? 32 : 128;
	mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, addr);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_cb_run(buf, (size_t)n, seq, portid, doctor_route_cb, &r);
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	if (r.type != RTN_UNICAST && r.type != RTN_LOCAL) {
		ret = -ENETUNREACH;
		goto out;
	}
	if (!r.oif || !if_indextoname((unsigned int)r.oif, dev)) {
		snprintf(dev, devlen, "?");
		ret = r.type == RTN_LOCAL ? 1 : 0;
		goto out;
	}
	ret = r.type == RTN_LOCAL ? 1 : 0;
out:
	mnl_socket_close(nl);
	return ret;
}
#else
static int doctor_route_get(int family, const void *addr, char *dev, size_t devlen)
{
	(void)family;
	(void)addr;
	(void)dev;
	(void)devlen;
	return -EOPNOTSUPP;
}
#endif

/*
 * The guest prefix in state ("installed", "refused") holding ip (host), read
 * from the JSON status; a refused one's reason into reason (may be NULL).
 */
static bool doctor_prefix_for(struct doctor *d, const struct prefix *ip, const char *state,
			      char *out, size_t size, char *reason, size_t rsize)
{
	char want[64];
	char *json = NULL;
	bool found = false;

	snprintf(want, sizeof(want), "\", \"state\": \"%s\"", state);
	if (ctlsock_client_request(d->sock, "status json", &json))
		goto out;
	for (const char *p = json; (p = strstr(p, "\"prefix\": \"")); ) {
		struct prefix pf;
		char text[PREFIX_STRLEN];
		const char *q, *r, *e;

		p += strlen("\"prefix\": \"");
		q = strchr(p, '"');
		if (!q || (size_t)(q - p) >= sizeof(text))
			break;
		memcpy(text, p, (size_t)(q - p));
		text[q - p] = '\0';
		if (prefix_parse(&pf, text, false) != 0 ||
		    !prefix_contains_addr(&pf, ip->family, ip->addr.b) ||
		    strncmp(q, want, strlen(want)))
			continue;
		snprintf(out, size, "%s", text);
		if (reason && rsize) {
			reason[0] = '\0';
			r = strstr(q, "\"reason\": \"");
			e = strchr(q, '}');
			if (r && (!e || r < e)) {
				r += strlen("\"reason\": \"");
				e = strchr(r, '"');
				if (e && (size_t)(e - r) < rsize) {
					memcpy(reason, r, (size_t)(e - r));
					reason[e - r] = '\0';
				}
			}
		}
		found = true;
		break;
	}
out:
	free(json);
	return found;
}

static bool doctor_check_route(struct doctor *d, const struct prefix *ip, const char *ipstr)
{
	char dev[IF_NAMESIZE] = "", pfx[PREFIX_STRLEN], fix[400], why[64];
	bool have = doctor_prefix_for(d, ip, "installed", pfx, sizeof(pfx), NULL, 0);
	int ret = doctor_route_get(ip->family, ip->addr.b, dev, sizeof(dev));

	if (ret == -EOPNOTSUPP) {
		doctor_ok("Route check skipped: not implemented on this system.");
		return true;
	}
	if (ret < 0) {
		if (have) {
			snprintf(fix, sizeof(fix), "'ip route add %s dev %s', or restart the host "
				 "agent, which installs it again", pfx, d->tun);
			doctor_fail(d, fix, "This machine has no route to %s, though the guest's "
				    "prefix %s is accepted: the route was removed.", ipstr, pfx);
		} else if (!d->guest &&
			   doctor_prefix_for(d, ip, "refused", pfx, sizeof(pfx), why, sizeof(why))) {
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
}

#ifdef __linux__
/*
 * The echo reply to (id, seq) from ip in a datagram of n bytes, if it is one.
 * IPv4 raw sockets hand us the IP header too, IPv6 ones only the ICMPv6
 * message; every length is checked before a field is read.
 */
static bool doctor_is_reply(const struct prefix *ip, const uint8_t *buf, size_t n,
			    const struct sockaddr_storage *from, socklen_t fl,
			    uint16_t id, uint16_t seq)
{
	size_t hl = 0;
	uint8_t want = ICMP6_ECHO_REPLY;
	uint16_t rid, rseq;

	if (ip->family == AF_INET) {
		const struct sockaddr_in *f4 = (const struct sockaddr_in *)from;

		if (fl < sizeof(*f4) || f4->sin_family != AF_INET ||
		    memcmp(&f4->sin_addr, ip->addr.b, 4) || n < 20)
			return false;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if (hl < 20)
			return false;
		want = ICMP_ECHOREPLY;
	} else {
		const struct sockaddr_in6 *f6 = (const struct sockaddr_in6 *)from;

		if (fl < sizeof(*f6) || f6->sin6_family != AF_INET6 ||
		    memcmp(&f6->sin6_addr, ip->addr.b, 16))
			return false;
	}
	/* type, code, checksum, identifier, sequence: the same layout in both. */
	if (n < hl + 8 || buf[hl] != want || buf[hl + 1] != 0)
		return false;
	rid = (uint16_t)(buf[hl + 4] << 8 | buf[hl + 5]);
	rseq = (uint16_t)(buf[hl + 6] << 8 | buf[hl + 7]);
	return rid == id && rseq == seq;
}

static double doctor_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Ping ip up to tries times, 1 s each; the round trip in ms, or -errno.
 * ICMPv6 raw sockets have the kernel fill in the checksum (it covers a
 * pseudo-header with the source address the kernel picks); ICMPv4 ones
 * leave it to us.
 */
static double doctor_ping(const struct prefix *ip, int tries)
{
	struct sockaddr_storage to = { 0 };
	socklen_t tolen;
	uint16_t id = (uint16_t)getpid();
	bool v4 = ip->family == AF_INET;
	double ret = -ETIMEDOUT;
	int fd;

	if (v4) {
		struct sockaddr_in *t4 = (struct sockaddr_in *)&to;

		t4->sin_family = AF_INET;
		memcpy(&t4->sin_addr, ip->addr.b, 4);
		tolen = sizeof(*t4);
		fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	} else {
		struct sockaddr_in6 *t6 = (struct sockaddr_in6 *)&to;
		struct icmp6_filter filt;

		t6->sin6_family = AF_INET6;
		memcpy(&t6->sin6_addr, ip->addr.b, 16);
		tolen = sizeof(*t6);
		fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
		/* Only echo replies: not every neighbour discovery message. */
		ICMP6_FILTER_SETBLOCKALL(&filt);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
		if (fd >= 0)
			setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt));
	}
	if (fd < 0)
		return -errno;
	for (int seq = 1; seq <= tries && ret < 0; seq++) {
		uint8_t req[8] = { v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST, 0, 0, 0,
				   (uint8_t)(id >> 8), (uint8_t)id, 0, (uint8_t)seq };
		struct timespec t0;
		uint8_t buf[1500];

		if (v4)
			csum_store(req + 2, csum_finish(csum_partial(req, sizeof(req), 0)));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&to, tolen) < 0) {
			ret = -errno;
			break;
		}
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			struct sockaddr_storage from = { 0 };
			socklen_t fl = sizeof(from);
			double ms = doctor_ms_since(&t0);
			ssize_t n;

			if (ms >= 1000 || poll(&pfd, 1, (int)(1000 - ms)) <= 0)
				break;
			n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n < 0 || !doctor_is_reply(ip, buf, (size_t)n, &from, fl, id,
						      (uint16_t)seq))
				continue;
			ret = doctor_ms_since(&t0);
			break;
		}
	}
	close(fd);
	return ret;
}
#else
static double doctor_ping(const struct prefix *ip, int tries)
{
	(void)ip;
	(void)tries;
	return -EOPNOTSUPP;
}
#endif

/* Sum of a per-peer counter over all peers, fresh from the daemon. */
static double doctor_counter(struct doctor *d, const char *name)
{
	char *m = NULL;
	double sum = 0, v;

	if (ctlsock_client_request(d->sock, "prometheus", &m))
		return -1;
	for (const char *p = m; (p = strstr(p, name)); p++)
		if ((p == m || p[-1] == '\n') && doctor_metric(p, name, NULL, &v))
			sum += v;
	free(m);
	return sum;
}

static bool doctor_probe(struct doctor *d, const struct prefix *ip, const char *ipstr)
{
	double rx0, tx0, rx1, tx1, ms;

	rx0 = doctor_counter(d, "gangway_peer_rx_packets_total");
	tx0 = doctor_counter(d, "gangway_peer_tx_packets_total");
	ms = doctor_ping(ip, 3);
	if (ms >= 0) {
		doctor_ok("%s answers a ping in %.1f ms.", ipstr, ms);
		return true;
	}
	if (ms != -ETIMEDOUT) {
		doctor_fail(d, "run as root", "Cannot send the ping probe: %s.", strerror((int)-ms));
		return false;
	}
	rx1 = doctor_counter(d, "gangway_peer_rx_packets_total");
	tx1 = doctor_counter(d, "gangway_peer_tx_packets_total");
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
	} else {
		doctor_fail(d, "run 'gangway doctor IP' in the VM (firewall, forwarding)",
			    "The probe to %s went through the tunnel and something came back, "
			    "but no answer from %s: the VM or the container drops it.", ipstr,
			    ipstr);
	}
	return false;
}

static int doctor_read_int(const char *path, long *v)
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

/*
 * Firewall rules in order. gangwayd keeps its own rules at the top of the
 * chains it writes (and repairs that within a second), but it never moves
 * anyone else's: a DROP someone inserted ahead of them, or a jump into
 * Docker's chains that comes before FORWARD's jump to DOCKER-USER, still
 * drops the host's traffic. So the doctor reads the rules back as the
 * firewall program prints them and checks, per chain, what comes first.
 */
#define DOCTOR_FW_RULES		4096	/* rules of one family we look at */
#define DOCTOR_FW_TEXT		200

enum doctor_fw_table { DOCTOR_T_OTHER, DOCTOR_T_FILTER, DOCTOR_T_RAW };

struct doctor_fw_rule {
	enum doctor_fw_table table;
	char chain[32];
	int pos;			/* 1-based, in its chain */
	char target[32];
	bool ours;			/* carries gangway:<tun> */
	bool in_tun, out_tun;		/* -i <tun> / -o <tun> */
	bool may_match;			/* could see what comes in from the tunnel */
	char text[DOCTOR_FW_TEXT];	/* as printed, for the report */
};

struct doctor_fw {
	struct doctor_fw_rule v[DOCTOR_FW_RULES];
	size_t n;
	bool have_raw;
};

/* Does the iptables interface name pat ("eth+" is a wildcard) name tun? */
static bool doctor_if_match(const char *pat, const char *tun)
{
	size_t l = strlen(pat);

	if (l && pat[l - 1] == '+')
		return !strncmp(pat, tun, l - 1);
	return !strcmp(pat, tun);
}

/* Next word of an iptables-save line; "..." quoted words lose their quotes. */
static const char *doctor_fw_word(const char *p, char *out, size_t size)
{
	size_t k = 0;
	bool q = false;

	while (*p == ' ')
		p++;
	if (!*p || *p == '\n')
		return NULL;
	for (; *p && *p != '\n' && (q || *p != ' '); p++) {
		if (*p == '"') {
			q = !q;
			continue;
		}
		if (*p == '\\' && p[1])
			p++;
		if (k + 1 < size)
			out[k++] = *p;
	}
	out[k] = '\0';
	return p;
}

/* One "-A CHAIN ..." line of table t into f. */
static void doctor_fw_add(struct doctor_fw *f, enum doctor_fw_table t, const char *line,
			  const char *tag, const char *tun)
{
	struct doctor_fw_rule *r;
	char w[256], opt[32] = "";
	const char *p = line + 3;
	bool neg = false;
	size_t tl;

	if (f->n >= DOCTOR_FW_RULES)
		return;
	r = &f->v[f->n];
	memset(r, 0, sizeof(*r));
	r->table = t;
	r->may_match = true;
	p = doctor_fw_word(p, r->chain, sizeof(r->chain));
	if (!p)
		return;
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].table == t && !strcmp(f->v[i].chain, r->chain))
			r->pos = f->v[i].pos;
	r->pos++;
	tl = strlen(line);
	while (tl && line[tl - 1] == '\n')
		tl--;
	snprintf(r->text, sizeof(r->text), "%.*s", (int)tl, line);
	while ((p = doctor_fw_word(p, w, sizeof(w)))) {
		if (!strcmp(w, "!")) {
			neg = true;
			continue;
		}
		/* An option starts a word with '-' (values never do here). */
		if (w[0] == '-' && w[1] && !(w[1] >= '0' && w[1] <= '9')) {
			snprintf(opt, sizeof(opt), "%.*s", (int)sizeof(opt) - 1, w);
			continue;
		}
		if (!strcmp(opt, "-i")) {
			if (doctor_if_match(w, tun) == neg)
				r->may_match = false;
			r->in_tun = !neg && !strcmp(w, tun);
		} else if (!strcmp(opt, "-o")) {
			r->out_tun = !neg && !strcmp(w, tun);
		} else if (!strcmp(opt, "-j") || !strcmp(opt, "-g")) {
			snprintf(r->target, sizeof(r->target), "%.*s", (int)sizeof(r->target) - 1,
				 w);
		} else if (!strcmp(opt, "--comment")) {
			r->ours = !strcmp(w, tag);
		}
		opt[0] = '\0';
		neg = false;
	}
	f->n++;
}

/* Read what prog (an iptables-save) prints; false when it cannot run. */
static bool doctor_fw_read(struct doctor_fw *f, const char *prog, const char *tag,
			   const char *tun)
{
	enum doctor_fw_table t = DOCTOR_T_OTHER;
	char cmd[96], *line = NULL;
	size_t cap = 0;
	bool any = false;
	FILE *p;

	f->n = 0;
	f->have_raw = false;
	snprintf(cmd, sizeof(cmd), "%s 2>/dev/null", prog);
	p = popen(cmd, "r");
	if (!p)
		return false;
	while (getline(&line, &cap, p) > 0) {
		any = true;
		if (line[0] == '*') {
			t = !strncmp(line, "*filter", 7) ? DOCTOR_T_FILTER :
			    !strncmp(line, "*raw", 4) ? DOCTOR_T_RAW : DOCTOR_T_OTHER;
			if (t == DOCTOR_T_RAW)
				f->have_raw = true;
		} else if (!strncmp(line, "-A ", 3) && t != DOCTOR_T_OTHER) {
			doctor_fw_add(f, t, line, tag, tun);
		}
	}
	free(line);
	return pclose(p) == 0 && any;
}

/* The first rule of table t, chain (NULL: any), that is ours and matches want. */
static const struct doctor_fw_rule *doctor_fw_first(const struct doctor_fw *f,
						    enum doctor_fw_table t, const char *chain,
						    int want)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct doctor_fw_rule *r = &f->v[i];

		if (r->table != t || !r->ours || (chain && strcmp(r->chain, chain)))
			continue;
		if ((want == 'i' && !r->in_tun) || (want == 'o' && !r->out_tun))
			continue;
		return r;
	}
	return NULL;
}

static bool doctor_fw_is_drop(const struct doctor_fw_rule *r)
{
	return r->may_match && (!strcmp(r->target, "DROP") || !strcmp(r->target, "REJECT"));
}

/* A jump into one of Docker's own chains (they hold Docker's drops from 28.0). */
static bool doctor_fw_is_docker(const struct doctor_fw_rule *r)
{
	return r->may_match && !strncmp(r->target, "DOCKER", 6) &&
	       strcmp(r->target, "DOCKER-USER");
}

/*
 * A rule of chain in table t before position before that drops the traffic,
 * or (docker) jumps into Docker's chains first.
 */
static const struct doctor_fw_rule *doctor_fw_ahead(const struct doctor_fw *f,
						    enum doctor_fw_table t, const char *chain,
						    int before, bool docker)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct doctor_fw_rule *r = &f->v[i];

		if (r->table != t || strcmp(r->chain, chain) || r->pos >= before || r->ours)
			continue;
		if (doctor_fw_is_drop(r) || (docker && doctor_fw_is_docker(r)))
			return r;
	}
	return NULL;
}

static void doctor_fw_blocked(struct doctor *d, const char *what, const char *tool,
			      const struct doctor_fw_rule *r, const char *where)
{
	char fix[400];
	bool raw = r->table == DOCTOR_T_RAW;

	if (doctor_fw_is_drop(r)) {
		snprintf(fix, sizeof(fix), "delete that rule ('%s%s -D %s %d') or put it "
			 "below %s; gangwayd keeps its own rules first but never moves "
			 "anyone else's", tool, raw ? " -t raw" : "", r->chain, r->pos, where);
		doctor_fail(d, fix, "Firewall (%s): rule %d of %s%s, '%s', comes before %s "
			    "and drops what arrives from %s.", what, r->pos, raw ? "raw " : "",
			    r->chain, r->text, where, d->tun);
	} else {
		snprintf(fix, sizeof(fix), "restart dockerd, which puts its jump to "
			 "DOCKER-USER first again, or move it there yourself ('%s -I FORWARD "
			 "1 -j DOCKER-USER' and delete the old one)", tool);
		doctor_fail(d, fix, "Firewall (%s): rule %d of FORWARD, '%s', jumps into "
			    "Docker's chain %s before %s: Docker's drops there come before "
			    "gangway's accepts.", what, r->pos, r->text, r->target, where);
	}
}

/*
 * One iptables family: gangway's accepts present (new connections in from
 * the tunnel, replies back into it; raw PREROUTING where the raw table
 * exists) and nothing that drops ahead of them. Returns the number of our
 * rules seen (0: this family has none).
 */
static size_t doctor_fw_ipt(struct doctor *d, struct doctor_fw *f, const char *mech,
			    int family, const char *tag, char *where, size_t wsize)
{
	const bool legacy = !strcmp(mech, "iptables-legacy");
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	char prog[48], tool[32], what[64];
	const struct doctor_fw_rule *in, *out, *raw, *jump = NULL, *bad;
	const char *fix = "restart gangwayd, which installs them (while it runs it puts "
			  "them back within a second: if they stay missing, see its log)";
	size_t ours = 0;
	int fails = d->fails;

	snprintf(tool, sizeof(tool), "%s-%s", family == AF_INET ? "iptables" : "ip6tables",
		 legacy ? "legacy" : "nft");
	snprintf(prog, sizeof(prog), "%s-save", tool);
	snprintf(what, sizeof(what), "%s, %s", mech, fam);
	if (!doctor_fw_read(f, prog, tag, d->tun))
		return 0;
	for (size_t i = 0; i < f->n; i++)
		ours += f->v[i].ours;
	if (!ours)
		return 0;
	in = doctor_fw_first(f, DOCTOR_T_FILTER, NULL, 'i');
	out = doctor_fw_first(f, DOCTOR_T_FILTER, NULL, 'o');
	raw = doctor_fw_first(f, DOCTOR_T_RAW, "PREROUTING", 0);
	if (!in)
		doctor_fail(d, fix, "Firewall (%s): gangway's rule accepting new connections "
			    "from %s to the containers is missing from '%s' (filter "
			    "DOCKER-USER or FORWARD).", what, d->tun, prog);
	if (!out)
		doctor_fail(d, fix, "Firewall (%s): gangway's rule accepting the containers' "
			    "replies into %s is missing from '%s' (filter DOCKER-USER or "
			    "FORWARD).", what, d->tun, prog);
	if (f->have_raw && !raw)
		doctor_fail(d, fix, "Firewall (%s): gangway's rules are missing from raw "
			    "PREROUTING, where Docker 28 drops direct access to containers.",
			    what);
	if (in) {
		char here[96];

		snprintf(here, sizeof(here), "gangway's rules (rule %d of %s)", in->pos,
			 in->chain);
		bad = doctor_fw_ahead(f, DOCTOR_T_FILTER, in->chain, in->pos,
				      !strcmp(in->chain, "FORWARD"));
		if (bad)
			doctor_fw_blocked(d, what, tool, bad, here);
		if (!strcmp(in->chain, "DOCKER-USER")) {
			for (size_t i = 0; i < f->n && !jump; i++)
				if (f->v[i].table == DOCTOR_T_FILTER &&
				    !strcmp(f->v[i].chain, "FORWARD") &&
				    !strcmp(f->v[i].target, "DOCKER-USER"))
					jump = &f->v[i];
			if (!jump) {
				doctor_fail(d, "restart dockerd, which adds it (or 'iptables -I "
					    "FORWARD 1 -j DOCKER-USER')", "Firewall (%s): FORWARD "
					    "never jumps to DOCKER-USER: gangway's rules there are "
					    "never reached.", what);
			} else {
				snprintf(here, sizeof(here), "the jump to DOCKER-USER (rule %d "
					 "of FORWARD)", jump->pos);
				bad = doctor_fw_ahead(f, DOCTOR_T_FILTER, "FORWARD", jump->pos,
						      true);
				if (bad)
					doctor_fw_blocked(d, what, tool, bad, here);
			}
		}
	}
	if (raw) {
		bad = doctor_fw_ahead(f, DOCTOR_T_RAW, "PREROUTING", raw->pos, false);
		if (bad)
			doctor_fw_blocked(d, what, tool, bad, "gangway's rules");
	}
	if (fails == d->fails && in) {
		if (jump)
			snprintf(where, wsize, "%s: FORWARD rule %d jumps to DOCKER-USER, gangway's "
				 "rules first there", fam, jump->pos);
		else
			snprintf(where, wsize, "%s: first in %s", fam, in->chain);
	}
	return ours;
}

/* Docker 29's nftables backend: our accept leads raw-PREROUTING of ip docker-bridges. */
static size_t doctor_fw_nft(struct doctor *d, const char *tag)
{
	char *line = NULL, table[64] = "", chain[64] = "", ctag[64];
	size_t cap = 0, ours = 0;
	int pos = 0, drop_pos = 0, our_pos = 0;
	bool have_table = false;
	FILE *p = popen("nft -a list ruleset 2>/dev/null", "r");

	if (!p)
		return 0;
	snprintf(ctag, sizeof(ctag), "comment \"%s\"", tag);
	while (getline(&line, &cap, p) > 0) {
		const char *l = line;

		while (*l == ' ' || *l == '\t')
			l++;
		if (!strncmp(l, "table ", 6)) {
			snprintf(table, sizeof(table), "%.*s", (int)strcspn(l + 6, " {\n"), l + 6);
			if (!strncmp(l, "table inet gangway ", 19))
				have_table = true;
			/* "ip docker-bridges": the family and the name */
			if (!strncmp(l + 6, "ip docker-bridges", 17))
				snprintf(table, sizeof(table), "ip docker-bridges");
			chain[0] = '\0';
		} else if (!strncmp(l, "chain ", 6)) {
			snprintf(chain, sizeof(chain), "%.*s", (int)strcspn(l + 6, " {\n"), l + 6);
			pos = 0;
		} else if (chain[0] && *l && *l != '}' && *l != '\n' && strncmp(l, "type ", 5) &&
			   strncmp(l, "policy ", 7)) {
			pos++;
			if (strstr(l, ctag))
				ours++;
			if (strcmp(table, "ip docker-bridges") || strcmp(chain, "raw-PREROUTING"))
				continue;
			if (strstr(l, ctag) && !our_pos)
				our_pos = pos;
			else if (strstr(l, " drop") && !drop_pos)
				drop_pos = pos;
		}
	}
	free(line);
	pclose(p);
	if (!have_table)
		doctor_fail(d, "restart gangwayd, which creates it", "Firewall (nftables): "
			    "gangway's table inet gangway is missing.");
	if (!our_pos)
		doctor_fail(d, "set FwMark in [Gangway] and Docker's bridge-accept-fwmark "
			    "(docs/firewall.md), then restart gangwayd",
			    "Firewall (nftables): gangway's accept is missing from raw-PREROUTING "
			    "of ip docker-bridges, where Docker drops direct access.");
	else if (drop_pos && drop_pos < our_pos)
		doctor_fail(d, "restart gangwayd, which puts its rule first again",
			    "Firewall (nftables): rule %d of ip docker-bridges raw-PREROUTING "
			    "drops before gangway's accept (rule %d).", drop_pos, our_pos);
	return ours + have_table;
}

/* The firewall rules of gangway are in place and in order (by the mechanism in use). */
static void doctor_check_firewall(struct doctor *d)
{
	static struct doctor_fw f;	/* large: not on the stack */
	char mech[32] = "", tag[IF_NAMESIZE + 16], where4[160] = "", where6[160] = "";
	int fails = d->fails;
	size_t n4, n6;

	if (!doctor_label(d->metrics, "gangway_info", NULL, "firewall", mech, sizeof(mech)) ||
	    !strcmp(mech, "none") || !strcmp(mech, "off")) {
		doctor_ok("Firewall: %s (no Docker firewall to open: nothing to check).",
			  mech[0] ? mech : "unknown");
		return;
	}
	for (const char *c = d->tun; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return;
	snprintf(tag, sizeof(tag), "gangway:%s", d->tun);
	if (!strcmp(mech, "nftables")) {
		if (doctor_fw_nft(d, tag) && fails == d->fails)
			doctor_ok("Firewall (nftables): gangway's rules for %s are present, its "
				  "accept first in raw-PREROUTING.", d->tun);
		return;
	}
	if (strcmp(mech, "iptables-nft") && strcmp(mech, "iptables-legacy")) {
		doctor_ok("Firewall mechanism %s: rules not checked.", mech);
		return;
	}
	n4 = doctor_fw_ipt(d, &f, mech, AF_INET, tag, where4, sizeof(where4));
	n6 = doctor_fw_ipt(d, &f, mech, AF_INET6, tag, where6, sizeof(where6));
	if (!n4 && !n6)
		doctor_fail(d, "restart gangwayd, which installs them (while it runs it puts "
			    "them back within a second: if they stay missing, see its log)",
			    "Firewall (%s): gangway's rules for %s are missing from "
			    "'%s-save'.", mech, d->tun,
			    strcmp(mech, "iptables-legacy") ? "iptables-nft" : "iptables-legacy");
	else if (fails == d->fails)
		doctor_ok("Firewall (%s): gangway's rules for %s are present and in order "
			  "(%s%s%s).", mech, d->tun, where4, where4[0] && where6[0] ? "; " : "",
			  where6);
}

static void doctor_check_sysctls(struct doctor *d)
{
	char path[128];
	long fwd = -1, tfwd = -1, rp_all = 0, rp_tun = 0;

	doctor_read_int("/proc/sys/net/ipv4/ip_forward", &fwd);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", d->tun);
	doctor_read_int(path, &tfwd);
	if (fwd != 1 || tfwd == 0)
		doctor_fail(d, "sysctl -w net.ipv4.ip_forward=1 (and make it permanent in "
			    "/etc/sysctl.d/)", "IPv4 forwarding is off in the VM "
			    "(net.ipv4.ip_forward = %ld): packets from the tunnel cannot reach "
			    "the containers.", fwd);
	else
		doctor_ok("IPv4 forwarding is on.");
	if (d->family == AF_INET6) {
		fwd = -1;
		doctor_read_int("/proc/sys/net/ipv6/conf/all/forwarding", &fwd);
		if (fwd != 1)
			doctor_fail(d, "sysctl -w net.ipv6.conf.all.forwarding=1 (and make it "
				    "permanent in /etc/sysctl.d/)", "IPv6 forwarding is off in "
				    "the VM (net.ipv6.conf.all.forwarding = %ld): packets from the "
				    "tunnel cannot reach the containers.", fwd);
		else
			doctor_ok("IPv6 forwarding is on.");
	}
	doctor_read_int("/proc/sys/net/ipv4/conf/all/rp_filter", &rp_all);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", d->tun);
	doctor_read_int(path, &rp_tun);
	/* The kernel uses the larger of the two; strict needs the reverse route. */
	if ((rp_all > rp_tun ? rp_all : rp_tun) == 1) {
		bool ok = true;

		for (size_t i = 0; i < d->c.n_peers; i++) {
			const struct config_prefixes *l = &d->c.peers[i].allowed_ips;

			for (size_t j = 0; j < l->n; j++) {
				char dev[IF_NAMESIZE] = "", a[PREFIX_STRLEN];

				if (l->v[j].family != AF_INET || l->v[j].len != 32)
					continue;
				if (doctor_route_get(AF_INET, l->v[j].addr.b, dev, sizeof(dev)) < 0 ||
				    strcmp(dev, d->tun)) {
					doctor_fail(d, "set net.ipv4.conf.all.rp_filter and "
						    "net.ipv4.conf.<tun>.rp_filter to 2 (loose)",
						    "rp_filter is strict and the way back to %s is not "
						    "through %s: its packets are dropped as spoofed.",
						    prefix_format(&l->v[j], a, sizeof(a)), d->tun);
					ok = false;
				}
			}
		}
		if (ok)
			doctor_ok("rp_filter is strict, and the host's addresses route back "
				  "through %s.", d->tun);
	} else {
		doctor_ok("rp_filter is %s.", rp_all == 2 || rp_tun == 2 ? "loose" : "off");
	}
}

static void doctor_check_mtu(struct doctor *d)
{
	char path[128], ep[INET6_ADDRSTRLEN + 10] = "", dev[IF_NAMESIZE] = "", host[INET6_ADDRSTRLEN];
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
	if (!doctor_label(d->metrics, "gangway_peer_info", NULL, "endpoint", ep, sizeof(ep)) ||
	    !ep[0] || !(colon = strrchr(ep, ':'))) {
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
	if (!fam || doctor_route_get(fam, fam == AF_INET ? (void *)&a4 : (void *)&a6, dev,
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

/*
 * A container's name instead of an IP: resolved as every program here
 * would (getaddrinfo), so a failure points at the resolver setup that
 * gangway up made (or logged), not at the tunnel. 0, or -1 said.
 */
static int doctor_resolve(const char *name, char *buf, size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int ret = getaddrinfo(name, NULL, &hints, &res);

	if (ret || !res) {
		printf("FAIL %s does not resolve: %s\n"
		       "     Is gangway up running with Names on, and gangwayd serving the\n"
		       "     domain? Its log says how this host sends the domain to the guest\n"
		       "     ('gangway names' in the VM lists what is served).\n",
		       name, ret ? gai_strerror(ret) : "no address");
		return -1;
	}
	ret = getnameinfo(res->ai_addr, res->ai_addrlen, buf, (socklen_t)size, NULL, 0,
			  NI_NUMERICHOST);
	freeaddrinfo(res);
	if (ret)
		return -1;
	printf("ok   %s resolves to %s\n", name, buf);
	return 0;
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct doctor d;
	const char *sock = NULL, *ipstr = NULL;
	char resolved[INET6_ADDRSTRLEN + 8];
	struct prefix ip;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(cmd_doctor_usage, stdout);
			return 0;
		default:
			fputs(cmd_doctor_usage, stderr);
			return 2;
		}
	}
	if (optind < argc)
		ipstr = argv[optind++];
	/* Not an address but a name: what it resolves to is the IP to check. */
	if (ipstr && optind == argc && prefix_parse(&ip, ipstr, true) && strchr(ipstr, '.') &&
	    !strchr(ipstr, '/')) {
		if (doctor_resolve(ipstr, resolved, sizeof(resolved)))
			return 1;
		ipstr = resolved;
	}
	if (optind != argc || (ipstr && (prefix_parse(&ip, ipstr, true) ||
					 ip.len != prefix_addr_len(ip.family) * 8))) {
		fprintf(stderr, "gangway doctor: '%s' is not an IP address\n%s",
			optind != argc ? argv[optind] : ipstr, cmd_doctor_usage);
		return 2;
	}
	if (!d.conf_path)
		d.conf_path = config_default_path();
	d.family = ipstr ? ip.family : 0;
	if (!doctor_check_config(&d) || !doctor_check_keys(&d) ||
	    !doctor_check_daemon(&d, sock))
		goto out;
	if (!doctor_check_handshakes(&d))
		goto out;
	if (d.guest) {
		doctor_check_firewall(&d);
		doctor_check_sysctls(&d);
	}
	doctor_check_mtu(&d);
	if (ipstr && d.fails == 0 && doctor_check_route(&d, &ip, ipstr))
		doctor_probe(&d, &ip, ipstr);
out:
	if (d.fails)
		printf("\nNot healthy: %d problem(s); the first one above is where it stops.\n",
		       d.fails);
	else
		printf("\nHealthy%s%s.\n", ipstr ? ": the way to " : "", ipstr ? ipstr : "");
	free(d.metrics);
	config_free(&d.c);
	return d.fails ? 1 : 0;
}
