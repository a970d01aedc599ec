/* doctor_net_linux.c - the doctor's look at this system's network: route, probe, sysctls */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <json-c/json.h>

#include "csum.h"
#include "ctlsock_client.h"
#include "doctor.h"
#include "netif.h"

int doctor_net_route_get(int family, const void *addr, char *dev, size_t devlen)
{
	struct netif *n = netif_open();
	int ret;

	if (!n)
		return -errno;
	ret = netif_route_get(n, family, addr, dev, devlen);
	netif_close(n);
	return ret;
}

/* The string member key of object o, or NULL. */
static const char *doctor_net_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* In the array of prefix objects a, the first in state holding ip. */
static bool doctor_net_prefix_in(struct json_object *a, const struct prefix *ip, const char *state,
				 char *out, size_t size, char *reason, size_t rsize)
{
	size_t i, n;

	if (!a || !json_object_is_type(a, json_type_array))
		return false;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		const char *text = doctor_net_str(o, "prefix"), *st = doctor_net_str(o, "state");
		const char *why = doctor_net_str(o, "reason");
		struct prefix pf;

		if (!text || !st || strlen(text) >= PREFIX_STRLEN ||
		    prefix_parse(&pf, text, false) != 0 ||
		    !prefix_contains_addr(&pf, ip->family, ip->addr.b) || strcmp(st, state) != 0)
			continue;
		snprintf(out, size, "%s", text);
		if (reason && rsize) {
			reason[0] = '\0';
			if (why && strlen(why) < rsize)
				snprintf(reason, rsize, "%s", why);
		}
		return true;
	}
	return false;
}

bool doctor_net_prefix_for(struct doctor *d, const struct prefix *ip, const char *state,
			   char *out, size_t size, char *reason, size_t rsize)
{
	struct json_object *root = NULL, *peers, *adv, *a;
	char *json = NULL;
	bool found = false;
	size_t i, n;

	if (ctlsock_client_request(d->sock, "status json", &json))
		goto out;
	root = json_tokener_parse(json);
	if (!root || !json_object_is_type(root, json_type_object))
		goto out;
	/* Each peer's prefixes, then the guest's advertisement. */
	if (json_object_object_get_ex(root, "peers", &peers) &&
	    json_object_is_type(peers, json_type_array)) {
		n = json_object_array_length(peers);
		for (i = 0; i < n && !found; i++) {
			struct json_object *p = json_object_array_get_idx(peers, i);

			if (p && json_object_object_get_ex(p, "prefixes", &a))
				found = doctor_net_prefix_in(a, ip, state, out, size, reason, rsize);
		}
	}
	if (!found && json_object_object_get_ex(root, "advertisement", &adv) &&
	    json_object_is_type(adv, json_type_object) &&
	    json_object_object_get_ex(adv, "prefixes", &a))
		found = doctor_net_prefix_in(a, ip, state, out, size, reason, rsize);
out:
	json_object_put(root);
	free(json);
	return found;
}

/*
 * The echo reply to (id, seq) from ip in a datagram of n bytes, if it is one.
 * IPv4 raw sockets hand us the IP header too, IPv6 ones only the ICMPv6
 * message; every length is checked before a field is read.
 */
static bool doctor_net_is_reply(const struct prefix *ip, const uint8_t *buf, size_t n,
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

static double doctor_net_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * ICMPv6 raw sockets have the kernel fill in the checksum (it covers a
 * pseudo-header with the source address the kernel picks); ICMPv4 ones
 * leave it to us.
 */
double doctor_net_ping(const struct prefix *ip, int tries)
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
			double ms = doctor_net_ms_since(&t0);
			ssize_t n;

			if (ms >= 1000 || poll(&pfd, 1, (int)(1000 - ms)) <= 0)
				break;
			n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n < 0 || !doctor_net_is_reply(ip, buf, (size_t)n, &from, fl, id,
						      (uint16_t)seq))
				continue;
			ret = doctor_net_ms_since(&t0);
			break;
		}
	}
	close(fd);
	return ret;
}

void doctor_net_check_sysctls(struct doctor *d)
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
				if (doctor_net_route_get(AF_INET, l->v[j].addr.b, dev,
							 sizeof(dev)) < 0 || strcmp(dev, d->tun)) {
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
