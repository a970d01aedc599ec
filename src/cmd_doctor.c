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
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include "netif.h"
#endif

#include "cmd.h"
#include "config.h"
#include "crypto.h"
#include "ctlsock.h"
#include "key.h"
#include "prefix.h"

#define DOCTOR_SESSION_MAX	180	/* Reject-After-Time: older means no session */

static const char cmd_doctor_usage[] =
	"Usage: gangway doctor [-c FILE | --socket PATH] [IP]\n\n"
	"Check every link between this machine and a container, in order, and say\n"
	"which one is broken and how to fix it: configuration, keys, the running\n"
	"daemon, the handshake, the route to IP (and any route shadowing it), and\n"
	"in the VM (-c /etc/gangway/gangwayd.conf) the firewall, forwarding,\n"
	"rp_filter and MTU. Given an IPv4 IP, a ping probe then tests the way.\n"
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
	ret = ctlsock_request(d->sock, "prometheus", &d->metrics);
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

/* The installed guest prefix holding ip (host), read from the JSON status. */
static bool doctor_installed_for(struct doctor *d, const struct prefix *ip, char *out,
				 size_t size)
{
	static const char installed[] = "\", \"state\": \"installed\"";
	char *json = NULL;
	bool found = false;

	if (ctlsock_request(d->sock, "status json", &json))
		goto out;
	for (const char *p = json; (p = strstr(p, "\"prefix\": \"")); ) {
		struct prefix pf;
		char text[PREFIX_STRLEN];
		const char *q;

		p += strlen("\"prefix\": \"");
		q = strchr(p, '"');
		if (!q || (size_t)(q - p) >= sizeof(text))
			break;
		memcpy(text, p, (size_t)(q - p));
		text[q - p] = '\0';
		if (prefix_parse(&pf, text, false) == 0 &&
		    prefix_contains_addr(&pf, ip->family, ip->addr.b) &&
		    !strncmp(q, installed, strlen(installed))) {
			snprintf(out, size, "%s", text);
			found = true;
			break;
		}
	}
out:
	free(json);
	return found;
}

static bool doctor_check_route(struct doctor *d, const struct prefix *ip, const char *ipstr)
{
	char dev[IF_NAMESIZE] = "", pfx[PREFIX_STRLEN], fix[400];
	bool have = doctor_installed_for(d, ip, pfx, sizeof(pfx));
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
static uint16_t doctor_icmp_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Ping ip (IPv4) up to tries times; the round trip in ms, or -errno. */
static double doctor_ping(const struct in_addr *ip, int tries)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = *ip };
	uint16_t id = (uint16_t)getpid();
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	double ret = -ETIMEDOUT;

	if (fd < 0)
		return -errno;
	for (int seq = 1; seq <= tries && ret < 0; seq++) {
		struct icmphdr req;
		struct timespec t0, t1;
		uint8_t buf[1500];

		memset(&req, 0, sizeof(req));
		req.type = ICMP_ECHO;
		req.un.echo.id = htons(id);
		req.un.echo.sequence = htons((uint16_t)seq);
		req.checksum = doctor_icmp_csum(&req, sizeof(req));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			ret = -errno;
			break;
		}
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			struct icmphdr rep;
			size_t hl;
			ssize_t n;
			double ms;

			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
			if (ms >= 1000 || poll(&pfd, 1, (int)(1000 - ms)) <= 0)
				break;
			n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n < (ssize_t)sizeof(struct ip))
				continue;
			hl = (size_t)(buf[0] & 0x0f) * 4;
			if ((size_t)n < hl + sizeof(rep) || from.sin_addr.s_addr != ip->s_addr)
				continue;
			memcpy(&rep, buf + hl, sizeof(rep));
			if (rep.type != ICMP_ECHOREPLY || rep.un.echo.id != htons(id) ||
			    rep.un.echo.sequence != htons((uint16_t)seq))
				continue;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ret = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			      (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
			break;
		}
	}
	close(fd);
	return ret;
}
#else
static double doctor_ping(const struct in_addr *ip, int tries)
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

	if (ctlsock_request(d->sock, "prometheus", &m))
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

	if (ip->family != AF_INET) {
		doctor_ok("Probe skipped: the probe speaks IPv4 only.");
		return true;
	}
	rx0 = doctor_counter(d, "gangway_peer_rx_packets_total");
	tx0 = doctor_counter(d, "gangway_peer_tx_packets_total");
	ms = doctor_ping(&ip->addr.v4, 3);
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

/* The firewall rules of gangway are in place (by the mechanism in use). */
static void doctor_check_firewall(struct doctor *d)
{
	char mech[32] = "", cmd[160], line[512], tag[IF_NAMESIZE + 16];
	const char *prog = NULL;
	bool found = false;
	FILE *p;

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
	if (!strcmp(mech, "nftables"))
		prog = "nft list ruleset";
	else if (!strcmp(mech, "iptables-nft"))
		prog = "iptables-nft-save";
	else if (!strcmp(mech, "iptables-legacy"))
		prog = "iptables-legacy-save";
	if (!prog) {
		doctor_ok("Firewall mechanism %s: rules not checked.", mech);
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s 2>/dev/null", prog);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (strstr(line, tag) || (!strcmp(mech, "nftables") &&
					  strstr(line, "table inet gangway")))
			found = true;
	if (p)
		pclose(p);
	if (found)
		doctor_ok("Firewall (%s): gangway's rules for %s are present.", mech, d->tun);
	else
		doctor_fail(d, "restart gangwayd, which installs them (it also repairs them "
			    "within a second while it runs)",
			    "Firewall (%s): gangway's rules for %s are missing from '%s'.", mech,
			    d->tun, prog);
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
	if (optind != argc || (ipstr && (prefix_parse(&ip, ipstr, true) ||
					 ip.len != prefix_addr_len(ip.family) * 8))) {
		fprintf(stderr, "gangway doctor: '%s' is not an IP address\n%s",
			optind != argc ? argv[optind] : ipstr, cmd_doctor_usage);
		return 2;
	}
	if (!d.conf_path)
		d.conf_path = access("/etc/gangway/gangway.conf", F_OK) == 0 ||
			      access("/etc/gangway/gangwayd.conf", F_OK) != 0 ?
			      "/etc/gangway/gangway.conf" : "/etc/gangway/gangwayd.conf";
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
