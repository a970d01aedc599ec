/* test_rtmsg.c - macOS routing-socket messages against vectors from XNU's layout
 *
 * The vectors are written byte by byte from xnu's bsd/net/route.h
 * (struct rt_msghdr, 92 bytes: msglen, version, type, index, 2 bytes of
 * padding, flags, addrs, pid, seq, errno, use, inits, 56 bytes of
 * rt_metrics), bsd/netinet/in.h (sockaddr_in, 16 bytes; sockaddr_in6, 28)
 * and bsd/net/if_dl.h (sockaddr_dl, 8 bytes then sdl_data), little-endian
 * as on both Mac architectures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "rtmsg.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* utun4, index 15, as getifaddrs() reports its AF_LINK address. */
static const uint8_t link_utun4[20] = {
	20, 18, 15, 0,			/* sdl_len, sdl_family, sdl_index */
	0x01, 5, 0, 0,			/* sdl_type, sdl_nlen, sdl_alen, sdl_slen */
	'u', 't', 'u', 'n', '4', 0, 0, 0, 0, 0, 0, 0,
};

/* rt_msghdr: the fields a message of ours sets, the rest zero. */
#define HDRX(len, type, index, flags, addrs, pid, seq) \
	(len), 0, RTMSG_VERSION, (type), (index), 0, 0, 0, \
	(flags) & 0xff, (flags) >> 8 & 0xff, (flags) >> 16 & 0xff, (flags) >> 24 & 0xff, \
	(addrs), 0, 0, 0, \
	(pid) & 0xff, (pid) >> 8 & 0xff, 0, 0, \
	(seq), 0, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

#define HDR(len, type, flags, addrs, pid, seq) HDRX(len, type, 0, flags, addrs, pid, seq)
/* A dump's entry: rtm_index is the route's interface. */
#define DUMP(len, index, flags, addrs) HDRX(len, RTMSG_GET, index, flags, addrs, 0, 0)

/* route add -net 172.17.0.0/16 -interface utun4: 92 + 16 + 20 + 16 bytes. */
static const uint8_t add_172_17[] = {
	HDR(144, RTMSG_ADD, 0x801, 0x7, 4242, 1),
	16, 2, 0, 0, 172, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* RTAX_DST */
	20, 18, 15, 0, 0x01, 5, 0, 0,				/* RTAX_GATEWAY */
	'u', 't', 'u', 'n', '4', 0, 0, 0, 0, 0, 0, 0,
	16, 2, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* RTAX_NETMASK */
};

/* route delete -inet6 -host fd00::1 -interface (index 7): no netmask. */
static const uint8_t del_fd00_1[] = {
	HDR(140, RTMSG_DELETE, 0x805, 0x3, 77, 9),
	28, 30, 0, 0, 0, 0, 0, 0,				/* RTAX_DST */
	0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0,
	20, 18, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static struct prefix pfx(const char *s)
{
	struct prefix p;

	assert_int_equal(prefix_parse(&p, s, false), 0);
	return p;
}

static void test_build_add_v4(void **state)
{
	uint8_t buf[RTMSG_MAX_LEN];
	struct prefix dst = pfx("172.17.0.0/16");
	int n = rtmsg_route(buf, sizeof(buf), RTMSG_ADD, 1, 4242, &dst, link_utun4,
			    sizeof(link_utun4));

	assert_int_equal(n, sizeof(add_172_17));
	assert_memory_equal(buf, add_172_17, sizeof(add_172_17));
}

static void test_build_del_v6_host(void **state)
{
	uint8_t buf[RTMSG_MAX_LEN], link[RTMSG_SDL_LEN];
	struct prefix dst = pfx("fd00::1");
	int n;

	rtmsg_link_by_index(link, 7);
	n = rtmsg_route(buf, sizeof(buf), RTMSG_DELETE, 9, 77, &dst, link, sizeof(link));
	assert_int_equal(n, sizeof(del_fd00_1));
	assert_memory_equal(buf, del_fd00_1, sizeof(del_fd00_1));
}

/* A link address of odd length is padded to 4 before the netmask. */
static void test_build_pads_link(void **state)
{
	uint8_t buf[RTMSG_MAX_LEN], link[13] = { 13, 18, 3, 0, 0, 5 };
	struct prefix dst = pfx("10.0.0.0/8");
	int n = rtmsg_route(buf, sizeof(buf), RTMSG_ADD, 1, 1, &dst, link, sizeof(link));

	assert_int_equal(n, RTMSG_HDR_LEN + 16 + 16 + 16);
	assert_int_equal(buf[RTMSG_HDR_LEN + 16 + 16], 16);	/* the netmask's sa_len */
	assert_int_equal(buf[RTMSG_HDR_LEN + 16 + 16 + 4], 255);
}

static void test_build_refuses(void **state)
{
	uint8_t buf[RTMSG_MAX_LEN], bad_link[20];
	struct prefix dst = pfx("10.0.0.0/8"), odd = dst;

	odd.family = AF_UNIX;
	assert_int_equal(rtmsg_route(buf, sizeof(buf), RTMSG_ADD, 1, 1, &odd, link_utun4,
				     sizeof(link_utun4)), -EAFNOSUPPORT);
	assert_int_equal(rtmsg_route(buf, sizeof(buf), RTMSG_GET, 1, 1, &dst, link_utun4,
				     sizeof(link_utun4)), -EINVAL);
	assert_int_equal(rtmsg_route(buf, RTMSG_MAX_LEN - 1, RTMSG_ADD, 1, 1, &dst, link_utun4,
				     sizeof(link_utun4)), -EMSGSIZE);
	memcpy(bad_link, link_utun4, sizeof(bad_link));
	bad_link[0] = 19;	/* sa_len disagrees with the length given */
	assert_int_equal(rtmsg_route(buf, sizeof(buf), RTMSG_ADD, 1, 1, &dst, bad_link,
				     sizeof(bad_link)), -EINVAL);
	bad_link[0] = 20;
	bad_link[1] = 2;	/* not AF_LINK */
	assert_int_equal(rtmsg_route(buf, sizeof(buf), RTMSG_ADD, 1, 1, &dst, bad_link,
				     sizeof(bad_link)), -EINVAL);
}

/*
 * A recorded-style NET_RT_DUMP: what the kernel writes, with netmasks
 * trimmed of their trailing zero bytes and of any family, an empty one
 * taking 4 bytes, and entries to skip.
 */
static const uint8_t dump[] = {
	/* 0.0.0.0/0 via en0 (index 4), gateway 192.0.2.1: empty netmask */
	DUMP(128, 4, 0x803, 0x7),
	16, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	16, 2, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0,
	/* 172.17.0.0/16 on utun4 (index 15): netmask trimmed to 6 bytes */
	DUMP(136, 15, 0x801, 0x7),
	16, 2, 0, 0, 172, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	20, 18, 15, 0, 0x01, 5, 0, 0, 'u', 't', 'u', 'n', '4', 0, 0, 0, 0, 0, 0, 0,
	6, 0, 0, 0, 255, 255, 0, 0,
	/* 192.0.2.7, a cloned neighbour entry (RTF_WASCLONED|RTF_LLINFO): skipped */
	DUMP(128, 4, 0x20405, 0x3),
	16, 2, 0, 0, 192, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 0,
	20, 18, 4, 0, 6, 3, 6, 0, 'e', 'n', '0', 1, 2, 3, 4, 5, 6, 0, 0, 0,
	/* 10.8.0.0/14 on index 9: netmask 255.252 trimmed to 7 bytes */
	DUMP(136, 9, 0x801, 0x7),
	16, 2, 0, 0, 10, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	20, 18, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	7, 0xff, 0, 0, 255, 252, 0, 0,
	/* 192.0.2.9/32, a host route on index 4: no netmask */
	DUMP(128, 4, 0x805, 0x3),
	16, 2, 0, 0, 192, 0, 2, 9, 0, 0, 0, 0, 0, 0, 0, 0,
	20, 18, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 10.1.0.0 with a non-contiguous mask 255.0.255: refused */
	DUMP(136, 9, 0x801, 0x7),
	16, 2, 0, 0, 10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	20, 18, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	7, 0, 0, 0, 255, 0, 255, 0,
	/* a message claiming more bytes than are left: the dump ends here */
	0xff, 0x00, RTMSG_VERSION, RTMSG_GET,
};

static void test_parse_dump(void **state)
{
	static const struct {
		const char *prefix;
		unsigned int ifindex;
	} want[] = {
		{ "0.0.0.0/0", 4 },
		{ "172.17.0.0/16", 15 },
		{ "10.8.0.0/14", 9 },
		{ "192.0.2.9/32", 4 },
	};
	const uint8_t *msg;
	size_t off = 0, msglen, n_msgs = 0, n_routes = 0;

	while (rtmsg_next(dump, sizeof(dump), &off, &msg, &msglen)) {
		struct prefix rp, w;
		unsigned int ifindex = 0;

		n_msgs++;
		if (!rtmsg_parse_route(msg, msglen, AF_INET, &rp, &ifindex))
			continue;
		assert_true(n_routes < ARRAY_SIZE(want));
		w = pfx(want[n_routes].prefix);
		assert_true(prefix_equal(&rp, &w));
		assert_int_equal(ifindex, want[n_routes].ifindex);
		n_routes++;
	}
	assert_int_equal(n_msgs, 6);
	assert_int_equal(n_routes, ARRAY_SIZE(want));
	/* The IPv6 view of the same dump finds nothing. */
	off = 0;
	while (rtmsg_next(dump, sizeof(dump), &off, &msg, &msglen)) {
		struct prefix rp;
		unsigned int ifindex;

		assert_false(rtmsg_parse_route(msg, msglen, AF_INET6, &rp, &ifindex));
	}
}

static void test_dump_find(void **state)
{
	struct prefix ours = pfx("172.17.0.0/16"), other = pfx("172.18.0.0/16");
	struct prefix wider = pfx("172.16.0.0/12");
	unsigned int ifindex = 0;

	assert_int_equal(rtmsg_dump_find(dump, sizeof(dump), &ours, &ifindex), 1);
	assert_int_equal(ifindex, 15);
	assert_int_equal(rtmsg_dump_find(dump, sizeof(dump), &other, &ifindex), 0);
	assert_int_equal(rtmsg_dump_find(dump, sizeof(dump), &wider, &ifindex), 0);
}

/*
 * The same prefix twice: a route scoped to en0 (RTF_IFSCOPE, index 4) dumped
 * before our unscoped one on utun4 (index 15). An unscoped RTM_DELETE
 * removes ours, so ours is the one found.
 */
static const uint8_t dump_scoped[] = {
	DUMP(132, 4, 0x1000803, 0x7),
	16, 2, 0, 0, 172, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	16, 2, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
	6, 0, 0, 0, 255, 255, 0, 0,
	DUMP(136, 15, 0x801, 0x7),
	16, 2, 0, 0, 172, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	20, 18, 15, 0, 0x01, 5, 0, 0, 'u', 't', 'u', 'n', '4', 0, 0, 0, 0, 0, 0, 0,
	6, 0, 0, 0, 255, 255, 0, 0,
};

static void test_dump_find_unscoped(void **state)
{
	struct prefix ours = pfx("172.17.0.0/16");
	unsigned int ifindex = 0;

	assert_int_equal(rtmsg_dump_find(dump_scoped, sizeof(dump_scoped), &ours, &ifindex), 1);
	assert_int_equal(ifindex, 15);
	/* The scoped route alone: nothing an unscoped delete would remove. */
	assert_int_equal(rtmsg_dump_find(dump_scoped, 132, &ours, &ifindex), 0);
}

/* What rtmsg_route builds, rtmsg_parse_route reads back. */
static void test_roundtrip(void **state)
{
	static const char *const prefixes[] = {
		"172.17.0.0/16", "10.0.0.0/8", "192.0.2.9/32", "0.0.0.0/0", "10.255.255.0/25",
		"fd00::/8", "fd12:3456::/64", "2001:db8::1/128", "::/0",
	};
	uint8_t buf[RTMSG_MAX_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		struct prefix dst = pfx(prefixes[i]), rp;
		unsigned int ifindex = 0;
		int n = rtmsg_route(buf, sizeof(buf), RTMSG_ADD, 3, 1, &dst, link_utun4,
				    sizeof(link_utun4));

		assert_true(n > RTMSG_HDR_LEN);
		assert_true(rtmsg_parse_route(buf, (size_t)n, dst.family, &rp, &ifindex));
		assert_true(prefix_equal(&rp, &dst));
	}
}

/* Every truncation of a valid message is refused or read within bounds. */
static void test_parse_truncated(void **state)
{
	struct prefix rp;
	unsigned int ifindex;

	for (size_t len = 0; len < sizeof(add_172_17); len++) {
		bool ok = rtmsg_parse_route(add_172_17, len, AF_INET, &rp, &ifindex);

		/* Without its destination, nothing; from the gateway on, the route. */
		if (len < RTMSG_HDR_LEN + 16)
			assert_false(ok);
	}
}

/*
 * What a routing socket hears, as `route -n monitor` shows it: the host's
 * routes and addresses changing count, the neighbour entries that come and
 * go with traffic and other processes' questions do not.
 */
static void test_watch_relevant(void **state)
{
	/* A VPN connects: 172.16.0.0/12 via a gateway on index 9 (UGS). */
	static const uint8_t vpn_add[] = {
		HDRX(144, RTMSG_ADD, 9, 0x803, 0x7, 300, 1),
		16, 2, 0, 0, 172, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		16, 2, 0, 0, 10, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
		6, 0, 0, 0, 255, 240, 0, 0,
	};
	/* A neighbour entry resolved and one expiring (RTF_LLINFO|RTF_WASCLONED|RTF_HOST). */
	static const uint8_t arp_add[] = { HDRX(92, RTMSG_ADD, 4, 0x20405, 0x3, 0, 0) };
	static const uint8_t arp_del[] = { HDRX(92, RTMSG_DELETE, 4, 0x20405, 0x3, 0, 0) };
	/* A route cloned for a remote host (UGHW) going away. */
	static const uint8_t clone_del[] = { HDRX(92, RTMSG_DELETE, 4, 0x20807, 0x3, 0, 0) };
	/* A route of the local address (RTF_LOCAL), which the addresses already cover. */
	static const uint8_t local_add[] = { HDRX(92, RTMSG_ADD, 1, 0x200805, 0x3, 0, 0) };
	/* Another process's `route get`, a lookup miss, a resolve request. */
	static const uint8_t get[] = { HDRX(92, RTMSG_GET, 4, 0x803, 0x7, 77, 3) };
	static const uint8_t miss[] = { HDRX(92, 0x7, 0, 0, 0x1, 0, 0) };
	static const uint8_t resolve[] = { HDRX(92, 0xb, 0, 0, 0x1, 0, 0) };
	/* ifa_msghdr and if_msghdr: msglen, version, type, then their own fields. */
	static const uint8_t newaddr[20] = { 20, 0, RTMSG_VERSION, RTMSG_NEWADDR };
	static const uint8_t deladdr[20] = { 20, 0, RTMSG_VERSION, RTMSG_DELADDR };
	static const uint8_t ifinfo[20] = { 20, 0, RTMSG_VERSION, RTMSG_IFINFO };
	static const uint8_t other_version[20] = { 20, 0, RTMSG_VERSION + 1, 0x7 };
	uint8_t buf[RTMSG_MAX_LEN];
	struct prefix ours = pfx("172.17.0.0/16");
	int n;

	assert_true(rtmsg_watch_relevant(vpn_add, sizeof(vpn_add)));
	/* Our own route added, or deleted by someone. */
	assert_true(rtmsg_watch_relevant(add_172_17, sizeof(add_172_17)));
	n = rtmsg_route(buf, sizeof(buf), RTMSG_DELETE, 5, 999, &ours, link_utun4,
			sizeof(link_utun4));
	assert_true(n > 0);
	assert_true(rtmsg_watch_relevant(buf, (size_t)n));
	buf[RTMSG_OFF_TYPE] = RTMSG_CHANGE;
	assert_true(rtmsg_watch_relevant(buf, (size_t)n));
	assert_true(rtmsg_watch_relevant(newaddr, sizeof(newaddr)));
	assert_true(rtmsg_watch_relevant(deladdr, sizeof(deladdr)));
	assert_true(rtmsg_watch_relevant(ifinfo, sizeof(ifinfo)));

	assert_false(rtmsg_watch_relevant(arp_add, sizeof(arp_add)));
	assert_false(rtmsg_watch_relevant(arp_del, sizeof(arp_del)));
	assert_false(rtmsg_watch_relevant(clone_del, sizeof(clone_del)));
	assert_false(rtmsg_watch_relevant(local_add, sizeof(local_add)));
	assert_false(rtmsg_watch_relevant(get, sizeof(get)));
	assert_false(rtmsg_watch_relevant(miss, sizeof(miss)));
	assert_false(rtmsg_watch_relevant(resolve, sizeof(resolve)));

	/* What cannot be read counts as a change: nothing is missed. */
	assert_true(rtmsg_watch_relevant(other_version, sizeof(other_version)));
	assert_true(rtmsg_watch_relevant(arp_add, RTMSG_HDR_LEN - 1));
	for (size_t len = 0; len <= RTMSG_OFF_TYPE; len++)
		assert_true(rtmsg_watch_relevant(get, len));
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("rtmsg_send waited for an answer from a socket that never sends one");
}

/*
 * A fake routing socket that never echoes: sending a route must return at
 * once (a read would block until the alarm), and the far end receives the
 * message exactly as built.
 */
static void test_send_does_not_wait(void **state)
{
	uint8_t got[RTMSG_MAX_LEN];
	struct prefix dst = pfx("172.17.0.0/16");
	int sv[2];
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	signal(SIGALRM, on_alarm);
	alarm(5);
	assert_int_equal(rtmsg_send(sv[0], RTMSG_ADD, 1, 4242, &dst, link_utun4,
				    sizeof(link_utun4)), 0);
	alarm(0);
	n = recv(sv[1], got, sizeof(got), MSG_DONTWAIT);
	assert_int_equal(n, sizeof(add_172_17));
	assert_memory_equal(got, add_172_17, sizeof(add_172_17));
	close(sv[0]);
	close(sv[1]);
}

/* A socket that refuses: the error comes back from the write. */
static void test_send_error(void **state)
{
	struct prefix dst = pfx("172.17.0.0/16");
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	assert_true(rtmsg_send(sv[0], RTMSG_DELETE, 2, 1, &dst, link_utun4,
			       sizeof(link_utun4)) < 0);
	close(sv[0]);
}

/*
 * The kernel's answers to a route change, as XNU gives them: write() fails
 * with EEXIST for a route already there and ESRCH for one that is not. A
 * child process stands in for the routing socket with a seccomp filter
 * that fails each write() to its end of a socketpair with that errno;
 * rtmsg_send must return it at once (ESRCH as -ENOENT, as on Linux).
 */
static int send_with_kernel_error(int err)
{
	struct prefix dst = pfx("172.17.0.2/32");
	scmp_filter_ctx ctx;
	int sv[2], status, ret;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* write(sv[0], ...) fails with err; every field set (clang's -Wextra) */
		const struct scmp_arg_cmp fd_is = { .arg = 0, .op = SCMP_CMP_EQ,
						    .datum_a = (scmp_datum_t)sv[0], .datum_b = 0 };

		ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)err), SCMP_SYS(write), 1,
					     fd_is) < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
			_exit(100);
		alarm(5);	/* a wait for an answer would end here */
		ret = rtmsg_send(sv[0], RTMSG_ADD, 1, 1, &dst, link_utun4, sizeof(link_utun4));
		_exit(ret < 0 && ret > -100 ? -ret : 101);
	}
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return -WEXITSTATUS(status);
}

static void test_send_kernel_errors(void **state)
{
	assert_int_equal(send_with_kernel_error(EEXIST), -EEXIST);
	assert_int_equal(send_with_kernel_error(ESRCH), -ENOENT);
	assert_int_equal(send_with_kernel_error(ENETUNREACH), -ENETUNREACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_add_v4),
		cmocka_unit_test(test_build_del_v6_host),
		cmocka_unit_test(test_build_pads_link),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_parse_dump),
		cmocka_unit_test(test_dump_find),
		cmocka_unit_test(test_dump_find_unscoped),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_watch_relevant),
		cmocka_unit_test(test_send_does_not_wait),
		cmocka_unit_test(test_send_error),
		cmocka_unit_test(test_send_kernel_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
