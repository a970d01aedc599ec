/* fw_apply.c - drive the firewall module by hand for the integration tests */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "firewall.h"
#include "log.h"

/*
 * fw_apply --tun IF --source PREFIX [--source ...]
 *          --bridge NAME=ADDR/LEN[,ADDR/LEN...] [--bridge ...]
 *          [--no-snat] [--mode auto|iptables-nft|iptables-legacy|nftables|off]
 *          [--fwmark N] [--mtu N] [-v]
 *
 * Builds the view discovery would build (bridges and their networks),
 * applies it, then checks on nftables events and every 500 ms like the
 * daemon does, printing "repaired" whenever a check put rules back. On
 * SIGTERM or SIGINT it removes everything and exits 0.
 */

static volatile sig_atomic_t fw_apply_stop;

static void fw_apply_signal(int sig)
{
	(void)sig;
	fw_apply_stop = 1;
}

static void fw_apply_usage(void)
{
	fprintf(stderr,
		"usage: fw_apply --tun IF --source PREFIX [--source ...]\n"
		"                --bridge NAME=ADDR/LEN[,ADDR/LEN] [--bridge ...]\n"
		"                [--no-snat] [--mode auto|iptables-nft|iptables-legacy|nftables|off]\n"
		"                [--fwmark N] [--mtu N] [-v]\n");
}

/* "NAME=ADDR/LEN[,ADDR/LEN...]" into the next bridge of the view. */
static int fw_apply_bridge(struct discover_view *v, const char *arg)
{
	struct discover_bridge *b;
	const char *eq = strchr(arg, '=');
	char list[512], *tok, *save = NULL;
	size_t nlen;

	if (v->n_bridges >= DISCOVER_MAX_BRIDGES || !eq)
		return -EINVAL;
	nlen = (size_t)(eq - arg);
	if (!nlen || nlen >= IF_NAMESIZE || strlen(eq + 1) >= sizeof(list))
		return -EINVAL;
	b = &v->bridges[v->n_bridges];
	memset(b, 0, sizeof(*b));
	memcpy(b->ifname, arg, nlen);
	b->up = true;
	snprintf(list, sizeof(list), "%s", eq + 1);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct prefix *a, net;
		size_t i;

		if (b->n_addrs >= DISCOVER_MAX_ADDRS)
			return -EINVAL;
		a = &b->addrs[b->n_addrs];
		if (prefix_parse_addr(a, tok) < 0)
			return -EINVAL;
		b->n_addrs++;
		/* What discovery advertises: the masked network, once. */
		net = *a;
		prefix_mask(&net);
		for (i = 0; i < v->n_prefixes; i++)
			if (prefix_equal(&v->prefixes[i], &net))
				break;
		if (i == v->n_prefixes) {
			if (v->n_prefixes >= sizeof(v->prefixes) / sizeof(v->prefixes[0]))
				return -EINVAL;
			v->prefixes[v->n_prefixes++] = net;
		}
	}
	if (!b->n_addrs)
		return -EINVAL;
	v->n_bridges++;
	return 0;
}

static int fw_apply_mode(const char *s, enum config_firewall *m)
{
	static const struct { const char *name; enum config_firewall m; } modes[] = {
		{ "auto", CONFIG_FW_AUTO },
		{ "iptables-nft", CONFIG_FW_IPTABLES_NFT },
		{ "iptables-legacy", CONFIG_FW_IPTABLES_LEGACY },
		{ "nftables", CONFIG_FW_NFTABLES },
		{ "off", CONFIG_FW_OFF },
	};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(s, modes[i].name)) {
			*m = modes[i].m;
			return 0;
		}
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tun", required_argument, NULL, 't' },
		{ "source", required_argument, NULL, 's' },
		{ "bridge", required_argument, NULL, 'b' },
		{ "no-snat", no_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "fwmark", required_argument, NULL, 'f' },
		{ "mtu", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static struct discover_view view;
	static struct prefix sources[64];
	struct firewall_opts o = { .snat = true, .mode = CONFIG_FW_AUTO };
	struct sigaction sa;
	struct firewall *fw;
	sigset_t block, orig;
	unsigned long v;
	char *end;
	int c, ret, efd;

	log_init("fw_apply", LOG_LVL_INFO);
	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.tun_ifname = optarg;
			break;
		case 's':
			if (o.n_sources >= sizeof(sources) / sizeof(sources[0]) ||
			    prefix_parse(&sources[o.n_sources], optarg, false) < 0) {
				fprintf(stderr, "fw_apply: bad --source '%s'\n", optarg);
				return 2;
			}
			o.n_sources++;
			break;
		case 'b':
			if (fw_apply_bridge(&view, optarg) < 0) {
				fprintf(stderr, "fw_apply: bad --bridge '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			o.snat = false;
			break;
		case 'm':
			if (fw_apply_mode(optarg, &o.mode) < 0) {
				fprintf(stderr, "fw_apply: bad --mode '%s'\n", optarg);
				return 2;
			}
			break;
		case 'f':
		case 'u':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || end == optarg || v > UINT32_MAX) {
				fprintf(stderr, "fw_apply: bad number '%s'\n", optarg);
				return 2;
			}
			if (c == 'f')
				o.fwmark = (uint32_t)v;
			else
				o.mtu = (unsigned int)v;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		default:
			fw_apply_usage();
			return 2;
		}
	}
	if (optind != argc || !o.tun_ifname) {
		fw_apply_usage();
		return 2;
	}
	o.sources = sources;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fw_apply_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Signals arrive only inside ppoll: no lost wake-up. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);

	fw = firewall_new(&o);
	if (!fw) {
		fprintf(stderr, "fw_apply: firewall_new: %s\n", strerror(errno));
		return 1;
	}
	ret = firewall_apply(fw, &view);
	printf("ready mechanism=%s apply=%d\n", firewall_mech_name(firewall_mechanism(fw)), ret);
	fflush(stdout);

	efd = firewall_event_fd(fw);
	while (!fw_apply_stop) {
		struct pollfd pfd = { .fd = efd, .events = POLLIN };
		int n = ppoll(&pfd, 1, &(struct timespec){ .tv_nsec = 500000000 }, &orig);

		if (n < 0 && errno != EINTR)
			break;
		if (fw_apply_stop)
			break;
		if (n > 0 && !firewall_event_process(fw))
			continue;
		ret = firewall_check(fw);
		if (ret > 0) {
			printf("repaired mechanism=%s\n",
			       firewall_mech_name(firewall_mechanism(fw)));
			fflush(stdout);
		}
	}
	firewall_remove(fw);
	firewall_free(fw);
	printf("stopped\n");
	return 0;
}
