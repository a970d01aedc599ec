/* cmd_init.c - gangway init: both sides' keys and a matched pair of configurations */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cmd.h"
#include "config.h"
#include "crypto.h"
#include "key.h"

static const char cmd_init_usage[] =
	"Usage: gangway init [options]\n"
	"\n"
	"Generate keys for both ends and write a matched pair of configurations:\n"
	"gangway.conf for the host (run 'gangway up -c gangway.conf') and\n"
	"gangwayd.conf for the VM (run 'gangwayd -c gangwayd.conf' there).\n"
	"\n"
	"  -d, --dir DIR          where to write them (default: .); created with mode\n"
	"                         0700 if missing; refused if others can write to it\n"
	"  -e, --endpoint HOST    how the VM reaches the host (default host.docker.internal)\n"
	"  -p, --port PORT        the host's UDP port (default 51820)\n"
	"  -n, --network PREFIX   tunnel addresses: host .1, guest .2 (default 10.33.0.0/24)\n"
	"  -N, --no-names         no container names (Names = off): gangwayd then\n"
	"                         needs no access to the Docker engine's socket\n"
	"  -f, --force            overwrite existing files\n";

/*
 * Keys are written where nobody else can swap a file under us. The
 * directory is opened once and every later step is relative to that
 * descriptor: a new file is created exclusively, without following a
 * symlink, with mode 0600 from its first instant; only when its contents
 * are on disk does it take the target's name, by rename (which replaces a
 * symlink itself, never what it points to) or, without --force, by link
 * (which fails if the name exists, even as a dangling symlink). A
 * directory that another user could write into or that another user owns
 * is refused: whoever controls it controls what ends up there.
 */

/* Create DIR and any missing parents, each with mode 0700 (mkdir -p -m 700). */
static int cmd_init_mkdir(const char *dir, bool *created)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	*created = false;
	if (len == 0 || len >= sizeof(path)) {
		errno = len ? ENAMETOOLONG : ENOENT;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0700) == 0)
			*created = c == '\0' || p[1] == '\0';
		else if (errno != EEXIST)
			return -1;
		*p = c;
		if (c == '\0' || p[1] == '\0')
			return 0;
	}
}

/* Open DIR for writing keys into, creating it if absent; -1 after a message. */
static int cmd_init_open_dir(const char *dir)
{
	struct stat st;
	bool created;
	int dfd;

	if (cmd_init_mkdir(dir, &created) < 0) {
		fprintf(stderr, "gangway: %s: cannot create directory: %s\n", dir, strerror(errno));
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) < 0) {
		fprintf(stderr, "gangway: %s: %s\n", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	/* exactly 0700 whatever the umask, so that we can write into it */
	if (created) {
		if (fchmod(dfd, 0700) < 0 || fstat(dfd, &st) < 0) {
			fprintf(stderr, "gangway: %s: %s\n", dir, strerror(errno));
			close(dfd);
			return -1;
		}
		printf("created %s (mode 0700)\n", dir);
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		fprintf(stderr, "gangway: %s: owned by uid %u, not by you or root; refusing to "
			"write keys there\n", dir, (unsigned int)st.st_uid);
		close(dfd);
		return -1;
	}
	/*
	 * Sticky or not: in /tmp anyone may take the names we need first or
	 * watch what appears; keys go where only their owner writes.
	 */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		fprintf(stderr, "gangway: %s: writable by %s; refusing to write keys there "
			"(chmod go-w, or choose another directory)\n", dir,
			st.st_mode & S_IWOTH ? "everyone" : "its group");
		close(dfd);
		return -1;
	}
	return dfd;
}

/* Without --force, refuse before writing anything if either file exists. */
static int cmd_init_check_absent(int dfd, const char *dir, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		fprintf(stderr, "gangway: %s/%s: %s (use --force to overwrite)\n", dir, name,
			strerror(EEXIST));
		return -1;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "gangway: %s/%s: %s\n", dir, name, strerror(errno));
		return -1;
	}
	return 0;
}

/* Write TEXT as NAME in the directory DFD, readable by its owner only. */
static int cmd_init_write(int dfd, const char *dir, const char *name, const char *text,
			  bool force)
{
	char tmp[64];
	size_t len = strlen(text), off = 0;
	int fd = -1, err;

	for (int try = 0; try < 8 && fd < 0; try++) {
		uint8_t rnd[6];

		if (crypto_random(rnd, sizeof(rnd)) < 0) {
			errno = EIO;
			goto fail;
		}
		snprintf(tmp, sizeof(tmp), ".%s.%02x%02x%02x%02x%02x%02x", name,
			 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			goto fail;
	}
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail_tmp;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0)
		goto fail_tmp;
	err = close(fd);
	fd = -1;
	if (err < 0)
		goto fail_tmp;
	if (force) {
		if (renameat(dfd, tmp, dfd, name) < 0)
			goto fail_tmp;
	} else {
		if (linkat(dfd, tmp, dfd, name, 0) < 0)
			goto fail_tmp;
		unlinkat(dfd, tmp, 0);
	}
	printf("wrote %s/%s\n", dir, name);
	return 0;

fail_tmp:
	err = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, tmp, 0);
	errno = err;
fail:
	fprintf(stderr, "gangway: %s/%s: %s%s\n", dir, name, strerror(errno),
		errno == EEXIST ? " (use --force to overwrite)" : "");
	return -1;
}

/*
 * Docker Desktop's VM has no systemd: gangwayd runs there as a container
 * (systemd/Dockerfile) with the host's network, TUN and only the two
 * capabilities it keeps, plus CAP_DAC_READ_SEARCH to read its 0600 file,
 * which Docker Desktop's file sharing shows with the Mac user's uid; it
 * sheds that one once started. docker -v wants an absolute path.
 */
static void cmd_init_print_docker(const char *dir, bool names)
{
	char *abs = realpath(dir, NULL);

	printf("\nDocker Desktop: build the image once, from gangway's source:\n"
	       "  docker build -t gangwayd -f systemd/Dockerfile .\n"
	       "then run gangwayd in the VM as a container:\n"
	       "  docker run -d --name gangwayd --restart unless-stopped --net host \\\n"
	       "    --cap-drop ALL --cap-add NET_ADMIN --cap-add NET_RAW --cap-add DAC_READ_SEARCH \\\n"
	       "    --device /dev/net/tun --security-opt no-new-privileges --read-only --tmpfs /run \\\n"
	       "    -v %s/gangwayd.conf:/etc/gangway/gangwayd.conf:ro%s gangwayd\n",
	       abs ? abs : dir,
	       names ? " \\\n    --cap-add NET_BIND_SERVICE "
		       "-v /var/run/docker.sock:/var/run/docker.sock:ro" : "");
	if (names)
		printf("The engine's socket is for container names (<name>.%s), served on\n"
		       "DNS port 53 (NET_BIND_SERVICE): whoever holds the socket controls the\n"
		       "engine, which is root on the VM, whatever :ro says. gangwayd only reads\n"
		       "the container list and events; 'gangway init --no-names' leaves both out.\n",
		       CONFIG_DEFAULT_DOMAIN);
	free(abs);
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "port", required_argument, NULL, 'p' },
		{ "network", required_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "no-names", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = ".", *endpoint = "host.docker.internal", *net = "10.33.0.0/24";
	uint8_t hpriv[KEY_LEN], gpriv[KEY_LEN], hpub[KEY_LEN], gpub[KEY_LEN];
	char hk[KEY_B64_LEN + 1], gk[KEY_B64_LEN + 1], hp[KEY_B64_LEN + 1], gp[KEY_B64_LEN + 1];
	char haddr[PREFIX_STRLEN], gaddr[PREFIX_STRLEN], host_text[2048], guest_text[2048];
	struct prefix np, ha, ga;
	unsigned long port = 51820;
	bool force = false, names = true;
	char *end;
	int ch, dfd, ret = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:e:p:n:fNh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno || *end || port == 0 || port > 65535) {
				fprintf(stderr, "gangway: --port: '%s' is not a port (1-65535)\n", optarg);
				return 2;
			}
			break;
		case 'n': net = optarg; break;
		case 'f': force = true; break;
		case 'N': names = false; break;
		case 'h': fputs(cmd_init_usage, stdout); return 0;
		default: fputs(cmd_init_usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(cmd_init_usage, stderr);
		return 2;
	}
	if (prefix_parse(&np, net, true) || np.len > prefix_addr_len(np.family) * 8 - 2) {
		fprintf(stderr, "gangway: --network: '%s' is not a prefix with room for two "
			"addresses\n", net);
		return 2;
	}
	{
		char host[CONFIG_HOST_LEN];
		uint16_t p;
		char test[CONFIG_HOST_LEN + 16];

		snprintf(test, sizeof(test), "%s%s%s:1", strchr(endpoint, ':') ? "[" : "",
			 endpoint, strchr(endpoint, ':') ? "]" : "");
		if (config_parse_endpoint(test, host, sizeof(host), &p)) {
			fprintf(stderr, "gangway: --endpoint: '%s' is not a host name or address\n",
				endpoint);
			return 2;
		}
	}
	ha = ga = np;
	ha.addr.b[prefix_addr_len(np.family) - 1] |= 1;
	ga.addr.b[prefix_addr_len(np.family) - 1] |= 2;
	ha.len = ga.len = (uint8_t)(prefix_addr_len(np.family) * 8);
	prefix_format(&ha, haddr, sizeof(haddr));
	prefix_format(&ga, gaddr, sizeof(gaddr));
	*strchr(haddr, '/') = '\0';
	*strchr(gaddr, '/') = '\0';

	if (crypto_init() || crypto_x25519_genkey(hpriv) || crypto_x25519_genkey(gpriv) ||
	    crypto_x25519_pubkey(hpub, hpriv) || crypto_x25519_pubkey(gpub, gpriv)) {
		fprintf(stderr, "gangway: failed to generate keys\n");
		return 1;
	}
	key_to_base64(hk, hpriv);
	key_to_base64(gk, gpriv);
	key_to_base64(hp, hpub);
	key_to_base64(gp, gpub);
	snprintf(host_text, sizeof(host_text),
		 "# gangway host agent: gangway up -c gangway.conf\n"
		 "[Interface]\nPrivateKey = %s\nAddress = %s/%u\nListenPort = %lu\n\n"
		 "# the VM's gangwayd\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/%u\n",
		 hk, haddr, np.len, port, gp, gaddr, (unsigned int)ha.len);
	if (!names)
		strncat(host_text, "\n[Gangway]\nNames = off\n",
			sizeof(host_text) - strlen(host_text) - 1);
	snprintf(guest_text, sizeof(guest_text),
		 "# gangway guest daemon, inside the VM: gangwayd -c gangwayd.conf\n"
		 "[Interface]\nPrivateKey = %s\nAddress = %s/%u\n\n"
		 "# the host's gangway agent\n[Peer]\nPublicKey = %s\n"
		 "Endpoint = %s%s%s:%lu\nAllowedIPs = %s/%u\nPersistentKeepalive = 25\n",
		 gk, gaddr, np.len, hp, strchr(endpoint, ':') ? "[" : "", endpoint,
		 strchr(endpoint, ':') ? "]" : "", port, haddr, (unsigned int)ha.len);
	if (!names)
		strncat(guest_text, "\n[Gangway]\nNames = off\n",
			sizeof(guest_text) - strlen(guest_text) - 1);
	dfd = cmd_init_open_dir(dir);
	if (dfd >= 0 &&
	    (force || (!cmd_init_check_absent(dfd, dir, "gangway.conf") &&
		       !cmd_init_check_absent(dfd, dir, "gangwayd.conf"))) &&
	    !cmd_init_write(dfd, dir, "gangway.conf", host_text, force) &&
	    !cmd_init_write(dfd, dir, "gangwayd.conf", guest_text, force)) {
		printf("\nOn the host:  gangway up -c %s/gangway.conf\n"
		       "In the VM:    gangwayd -c gangwayd.conf   (copy %s/gangwayd.conf there)\n"
		       "Docker Desktop: the VM reaches the host as %s; UDP port %lu must be\n"
		       "open on the host for it.\n", dir, dir, endpoint, port);
		cmd_init_print_docker(dir, names);
		ret = 0;
	}
	if (dfd >= 0)
		close(dfd);
	crypto_wipe(hpriv, sizeof(hpriv));
	crypto_wipe(gpriv, sizeof(gpriv));
	crypto_wipe(hk, sizeof(hk));
	crypto_wipe(gk, sizeof(gk));
	crypto_wipe(host_text, sizeof(host_text));
	crypto_wipe(guest_text, sizeof(guest_text));
	return ret;
}
