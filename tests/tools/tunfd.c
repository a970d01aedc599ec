/* tunfd.c - bench tool: run a program on a TUN device without offloads
 *
 *   tunfd IFNAME PROGRAM [ARG...]
 *
 * Creates TUN device IFNAME (IFF_TUN | IFF_NO_PI, and no IFF_VNET_HDR),
 * leaves its descriptor open across exec and runs PROGRAM with
 * WG_TUN_FD=<fd> in its environment. wireguard-go takes a device that way
 * and, finding no virtio-net header on it, turns its TUN offloads off and
 * moves one packet per read and per write: what it does on macOS, where
 * utun has no offloads. The benchmark uses it as that platform's baseline.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

int main(int argc, char **argv)
{
	struct ifreq ifr;
	char num[16];
	int fd;

	if (argc < 3 || strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "usage: tunfd IFNAME PROGRAM [ARG...]\n");
		return 2;
	}
	fd = open("/dev/net/tun", O_RDWR);	/* no O_CLOEXEC: PROGRAM inherits it */
	if (fd < 0) {
		fprintf(stderr, "tunfd: /dev/net/tun: %s\n", strerror(errno));
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, argv[1], strlen(argv[1]));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tunfd: TUNSETIFF %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	snprintf(num, sizeof(num), "%d", fd);
	if (setenv("WG_TUN_FD", num, 1) < 0) {
		fprintf(stderr, "tunfd: setenv: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "tunfd: %s: %s\n", argv[2], strerror(errno));
	return 1;
}
