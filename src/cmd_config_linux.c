/* cmd_config_linux.c - gangway config: a wg-quick file for a stock WireGuard host end
 *
 * Run inside the VM. Without gangway's host agent, a plain WireGuard host
 * learns nothing from the guest, so its AllowedIPs must list the container
 * networks statically: this prints them as the guest sees them now.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "crypto.h"
#include "discover.h"
#include "key.h"

static const char cmd_config_usage[] =
	"Usage: gangway config [-c FILE] [--host-key FILE]\n"
	"\n"
	"Inside the VM: print a wg-quick configuration for a stock WireGuard\n"
	"host end, from the guest daemon's configuration and the Docker\n"
	"networks this VM has now.\n"
	"\n"
	"  -c, --config FILE   the guest's configuration (default /etc/gangway/gangwayd.conf)\n"
	"  -k, --host-key FILE the host's private key, to fill in PrivateKey\n";

int cmd_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "host-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "/etc/gangway/gangwayd.conf", *keyfile = NULL;
	char err[CONFIG_ERR_LEN], b64[KEY_B64_LEN + 1], buf[PREFIX_STRLEN];
	char hostkey[KEY_B64_LEN + 1] = "";
	uint8_t pub[KEY_LEN];
	const struct config_peer *host = NULL;
	const struct discover_view *v;
	struct discover *d;
	struct config c;
	int ch, status = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:k:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'h':
			fputs(cmd_config_usage, stdout);
			return 0;
		default:
			fputs(cmd_config_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(cmd_config_usage, stderr);
		return 2;
	}
	log_init("gangway", LOG_LVL_WARN);
	if (keyfile) {
		FILE *f = fopen(keyfile, "re");
		char text[128] = "";
		uint8_t k[KEY_LEN];

		if (!f || !fgets(text, sizeof(text), f) || key_read(k, text)) {
			fprintf(stderr, "gangway: %s: not a private key\n", keyfile);
			if (f)
				fclose(f);
			return 1;
		}
		fclose(f);
		key_to_base64(hostkey, k);
		crypto_wipe(k, sizeof(k));
		crypto_wipe(text, sizeof(text));
	}
	if (config_load(&c, path, err, sizeof(err))) {
		fprintf(stderr, "gangway: %s\n", err);
		goto out;
	}
	if (c.n_peers != 1) {
		fprintf(stderr, "gangway: %s: expected exactly one [Peer] (the host), found %zu\n",
			path, c.n_peers);
		goto out;
	}
	host = &c.peers[0];
	if (crypto_init() || crypto_x25519_pubkey(pub, c.private_key)) {
		fprintf(stderr, "gangway: cannot derive the guest's public key\n");
		goto out;
	}
	d = discover_new(&c, NULL, NULL);
	if (!d) {
		perror("gangway: cannot read the networks (netlink)");
		goto out;
	}
	v = discover_view(d);
	key_to_base64(b64, pub);
	printf("# wg-quick configuration for the host end of %s,\n"
	       "# made by 'gangway config' from the Docker networks of this VM now.\n"
	       "# Networks created later are not in it: run it again, or use\n"
	       "# 'gangway up' on the host, which learns them as they come.\n"
	       "[Interface]\n", path);
	if (hostkey[0])
		printf("PrivateKey = %s\n", hostkey);
	else
		printf("PrivateKey = # the host's private key (the pair of PublicKey in %s)\n",
		       path);
	for (size_t i = 0; i < host->allowed_ips.n; i++) {
		const struct prefix *p = &host->allowed_ips.v[i];

		/* The host's own tunnel address, on the guest's tunnel subnet. */
		if (p->len != prefix_addr_len(p->family) * 8)
			continue;
		for (size_t j = 0; j < c.addresses.n; j++) {
			struct prefix a = *p;

			if (c.addresses.v[j].family != p->family)
				continue;
			a.len = c.addresses.v[j].len;
			printf("Address = %s\n", prefix_format(&a, buf, sizeof(buf)));
			break;
		}
	}
	if (host->endpoint_port)
		printf("ListenPort = %u\n", host->endpoint_port);
	printf("\n[Peer]\nPublicKey = %s\n", b64);
	if (host->has_preshared_key)
		printf("PresharedKey = # the PresharedKey of %s\n", path);
	printf("AllowedIPs = ");
	for (size_t i = 0; i < c.addresses.n; i++) {
		struct prefix a = c.addresses.v[i];

		a.len = (uint8_t)(prefix_addr_len(a.family) * 8);
		printf("%s%s", i ? ", " : "", prefix_format(&a, buf, sizeof(buf)));
	}
	for (size_t i = 0; i < v->n_prefixes; i++)
		printf("%s%s", (i || c.addresses.n) ? ", " : "",
		       prefix_format(&v->prefixes[i], buf, sizeof(buf)));
	printf("\n");
	discover_free(d);
	status = fflush(stdout) ? 1 : 0;
out:
	config_free(&c);
	return status;
}
