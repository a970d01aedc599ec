/* fuzz_netlink.c - libFuzzer harness: rtnetlink datagrams into bridge discovery */

/*
 * The input is a series of datagrams, each a 16-bit little-endian length
 * and that many bytes (the last one takes what is left), fed one by one
 * into a detached discover (discover_feed: the event socket's path,
 * libnl's parser included, without sockets or dumps). One discover serves
 * every input (a new one each time costs more than the parsing: its
 * buffers are fresh pages): it is emptied before each by an RTM_DELLINK
 * for every bridge it holds, which must leave no bridge behind. What
 * survives from input to input is only whether a table ever overflowed,
 * which changes nothing but discover_feed's "dump again" answer. After every
 * datagram the state must hold together: discover_check() on the
 * internals, and on the view handed out: bounds, bridges sorted and
 * matching the config, addresses and prefixes valid, sorted, unique and
 * masked, exclusions and inclusions applied, the view a fixed point of
 * discover_view_build(), and the callback run exactly when it changed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "discover.h"
#include "log.h"
#include "testhooks/discover_hooks.h"

static struct config conf;
static struct prefix excl, incl;
static struct discover_view before, again;
static const struct discover_view *told;
static unsigned int calls;

static void fz_fail(void)
{
	__builtin_trap();
}

static void on_change(void *ctx, const struct discover_view *v)
{
	(void)ctx;
	told = v;
	calls++;
}

static void setup(void)
{
	static const char *const br[] = { "docker0", "br-*" };
	size_t i;

	log_set_level(LOG_LVL_ERR);
	for (i = 0; i < 2; i++)
		strcpy(conf.bridges.v[i], br[i]);
	conf.bridges.n = 2;
	strcpy(conf.exclude_interfaces.v[0], "br-skip*");
	conf.exclude_interfaces.n = 1;
	if (prefix_parse(&excl, "10.99.0.0/16", true) ||
	    prefix_parse(&incl, "192.0.2.0/24", true))
		abort();
	conf.exclude_prefixes.v = &excl;
	conf.exclude_prefixes.n = 1;
	conf.include_prefixes.v = &incl;
	conf.include_prefixes.n = 1;
}

static bool prefix_sane(const struct prefix *p)
{
	size_t alen = prefix_addr_len(p->family);
	size_t i;

	if (!alen || p->len > alen * 8)
		return false;
	for (i = alen; i < sizeof(p->addr.b); i++)
		if (p->addr.b[i])
			return false;
	return true;
}

static void check_view(const struct discover_view *v)
{
	bool have_incl = false;
	size_t i, j;

	if (v->n_bridges > DISCOVER_MAX_BRIDGES ||
	    v->n_prefixes > sizeof(v->prefixes) / sizeof(v->prefixes[0]))
		fz_fail();
	for (i = 0; i < v->n_bridges; i++) {
		const struct discover_bridge *b = &v->bridges[i];

		if (!memchr(b->ifname, '\0', IF_NAMESIZE) || !discover_view_match_ifname(&conf, b->ifname) ||
		    b->ifindex <= 0 || b->n_addrs > DISCOVER_MAX_ADDRS)
			fz_fail();
		if (i && strcmp(v->bridges[i - 1].ifname, b->ifname) > 0)
			fz_fail();
		for (j = 0; j < b->n_addrs; j++) {
			const struct prefix *a = &b->addrs[j];

			if (!prefix_sane(a) || (j && prefix_cmp(&b->addrs[j - 1], a) >= 0))
				fz_fail();
			/* link-local IPv6 is never kept */
			if (a->family == AF_INET6 && a->addr.b[0] == 0xfe &&
			    (a->addr.b[1] & 0xc0) == 0x80)
				fz_fail();
		}
	}
	for (i = 0; i < v->n_prefixes; i++) {
		struct prefix m = v->prefixes[i];

		prefix_mask(&m);
		if (!prefix_sane(&v->prefixes[i]) || memcmp(&m, &v->prefixes[i], sizeof(m)) ||
		    (i && prefix_cmp(&v->prefixes[i - 1], &v->prefixes[i]) >= 0))
			fz_fail();
		if (prefix_equal(&v->prefixes[i], &incl))
			have_incl = true;
		else if (prefix_contains(&excl, &v->prefixes[i]))
			fz_fail();
	}
	if (!have_incl)
		fz_fail();
	/* every bridge address shows up as a prefix unless excluded */
	for (i = 0; i < v->n_bridges; i++)
		for (j = 0; j < v->bridges[i].n_addrs; j++) {
			struct prefix m = v->bridges[i].addrs[j];
			size_t k;

			prefix_mask(&m);
			for (k = 0; k < v->n_prefixes; k++)
				if (!prefix_cmp(&m, &v->prefixes[k]))
					break;
			if ((k == v->n_prefixes) != prefix_contains(&excl, &m))
				fz_fail();
		}
	discover_view_build(&conf, v->bridges, v->n_bridges, &again);
	if (!discover_view_equal(&again, v))
		fz_fail();
}

/* Feed an RTM_DELLINK for every bridge in the view: it must end up empty. */
static void empty_out(struct discover *d, const struct discover_view *v)
{
	static union {
		struct nlmsghdr h;	/* for the alignment */
		uint8_t b[DISCOVER_MAX_BRIDGES * NLMSG_SPACE(sizeof(struct ifinfomsg) +
							     RTA_SPACE(IF_NAMESIZE))];
	} buf;
	size_t i, off = 0, name;

	if (!v->n_bridges)
		return;
	memset(&buf, 0, sizeof(buf));
	for (i = 0; i < v->n_bridges; i++) {
		struct nlmsghdr *h = (void *)(buf.b + off);	/* NLMSG_ALIGNed */
		struct ifinfomsg *ifi = NLMSG_DATA(h);
		struct rtattr *rta = (void *)((uint8_t *)ifi + NLMSG_ALIGN(sizeof(*ifi)));

		name = strnlen(v->bridges[i].ifname, IF_NAMESIZE - 1) + 1;
		rta->rta_type = IFLA_IFNAME;
		rta->rta_len = (unsigned short)RTA_LENGTH(name);
		memcpy(RTA_DATA(rta), v->bridges[i].ifname, name - 1);
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = v->bridges[i].ifindex;
		h->nlmsg_type = RTM_DELLINK;
		h->nlmsg_len = (uint32_t)NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*ifi)) + RTA_SPACE(name));
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	if (discover_feed(d, buf.b, off) < 0 || discover_check(d) || v->n_bridges)
		fz_fail();
	check_view(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct discover *d;
	const struct discover_view *v;
	size_t n;
	int ret;

	if (!d) {
		setup();
		d = discover_new_detached(&conf, on_change, NULL);
		if (!d)
			abort();
	}
	v = discover_view(d);
	empty_out(d, v);
	check_view(v);
	while (size) {
		n = size >= 2 ? (size_t)(data[0] | data[1] << 8) : 0;
		data += size >= 2 ? 2 : size;
		size -= size >= 2 ? 2 : size;
		if (n > size)
			n = size;
		before = *v;
		calls = 0;
		told = NULL;
		ret = discover_feed(d, data, n);
		if (ret < 0 || ret > 1 || discover_check(d))
			fz_fail();
		check_view(v);
		if (discover_view_equal(&before, v) ? calls != 0 : (calls != 1 || told != v))
			fz_fail();
		data += n;
		size -= n;
	}
	return 0;
}
