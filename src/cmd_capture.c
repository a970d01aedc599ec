/* cmd_capture.c - `gangway capture`: what crosses the tunnel, as pcap or one line a packet
 *
 * Theory of operation: by default the capture is the daemon's own (its
 * control socket's "capture" request, captap.c): the daemon tests each
 * inner packet it moves, both ways, against our filter and streams the
 * matches to us as pcap, writing without ever waiting for us; when we (or
 * whoever reads our output) fall behind, the daemon drops capture copies
 * and counts them (capture-overflow), and forwarding goes on as before.
 * With -i any interface (a Docker bridge, a container's veth, the uplink
 * carrying the outer UDP) is captured with libpcap instead, beside the
 * daemon: the kernel hands copies to our socket and drops them when we are
 * slow. Either way the packets go to the same output: pcap (-w FILE,
 * rotated by size or time; -w - streams, flushed per packet) or one line
 * per packet. A write error (a full disk, a reader gone) stops the capture
 * with a message and exit status 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <pcap/pcap.h>

#include "bytes.h"
#include "captap.h"
#include "config.h"
#include "ctlsock_client.h"

#define CAPTURE_SNAPLEN		CAPTAP_SNAPLEN_MAX
#define CAPTURE_FILTER_MAX	4096
#define CAPTURE_REPLY_MAX	512		/* the daemon's first line */
#define CAPTURE_ANSWER_MS	5000		/* wait for it that long */

static const char cmd_capture_usage[] =
	"Usage: gangway capture [options] [FILTER...]\n\n"
	"Capture what crosses the tunnel: the decrypted inner packets, both ways,\n"
	"as the running daemon moves them (or on any interface named with -i).\n"
	"FILTER is a BPF expression in tcpdump syntax. Without -w, prints one\n"
	"line a packet.\n\n"
	"  -i, --interface IF  capture on IF with libpcap instead of in the daemon\n"
	"      --config FILE   the daemon's configuration (default\n"
	"                      " CONFIG_HOST_PATH ", else gangwayd.conf)\n"
	"      --socket PATH   the daemon's control socket itself\n"
	"  -w, --write FILE    write pcap to FILE; '-' streams to stdout\n"
	"  -c, --count N       stop after N packets\n"
	"  -d, --duration S    stop after S seconds\n"
	"  -C, --file-size MB  with -w FILE: start a new file (FILE.1, FILE.2, ...)\n"
	"                      once this many megabytes (10^6 bytes) are written\n"
	"  -G, --rotate S      with -w FILE: start a new file every S seconds\n"
	"  -W, --files N       with -C or -G: keep N files, reusing the oldest\n"
	"  -s, --snaplen B     bytes kept of each packet (default 262144)\n"
	"  -h, --help          this help\n";

struct capture {
	pcap_t *p;
	pcap_dumper_t *dump;
	const char *path;		/* -w, NULL for lines */
	bool to_stdout;
	int linktype;
	unsigned long count, seen;
	unsigned long file_bytes, max_bytes;	/* 0 = no size rotation */
	unsigned int rotate_secs, max_files, file_no;
	time_t file_start;
	int err;			/* a write failed: errno */
};

static volatile sig_atomic_t capture_stop;

static void capture_on_signal(int signo)
{
	(void)signo;
	capture_stop = 1;
}

static unsigned long capture_num(const char *s, const char *what, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v == 0 || v > max) {
		fprintf(stderr, "gangway capture: bad %s '%s'\n", what, s);
		return 0;
	}
	return v;
}

/*
 * Write to stdout (-w -) without ever blocking for long: wait for room with
 * poll and write at most PIPE_BUF bytes, which a pipe takes whole once it
 * polls writable. A stop request ends the wait, so a stalled reader cannot
 * hold us. 0, -EINTR when stopped, or -errno.
 */
static int capture_out(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };
		ssize_t n;

		if (capture_stop)
			return -EINTR;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = write(STDOUT_FILENO, p, len < PIPE_BUF ? len : PIPE_BUF);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The pcap file header as libpcap writes it (it knows the LINKTYPE mapping). */
static int capture_stream_header(struct capture *c)
{
	char *mem = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&mem, &size);
	pcap_dumper_t *d;
	int ret = -EIO;

	if (!f)
		return -errno;
	d = pcap_dump_fopen(c->p, f);
	if (!d) {
		fclose(f);
		free(mem);
		return -EIO;
	}
	pcap_dump_close(d);	/* closes f: mem and size are final */
	if (size == 24)
		ret = capture_out(mem, size);
	free(mem);
	return ret;
}

static int capture_open_file(struct capture *c)
{
	char name[PATH_MAX];

	if (c->to_stdout) {
		return capture_stream_header(c);
	} else {
		if (c->file_no)
			snprintf(name, sizeof(name), "%s.%u", c->path, c->file_no);
		else
			snprintf(name, sizeof(name), "%s", c->path);
		c->dump = pcap_dump_open(c->p, name);
	}
	if (!c->dump) {
		fprintf(stderr, "gangway capture: %s\n", pcap_geterr(c->p));
		return -EIO;
	}
	c->file_bytes = 24;	/* the pcap file header */
	c->file_start = time(NULL);
	return 0;
}

static int capture_rotate(struct capture *c)
{
	pcap_dump_close(c->dump);
	c->dump = NULL;
	c->file_no++;
	if (c->max_files && c->file_no >= c->max_files)
		c->file_no = 0;
	return capture_open_file(c);
}

/* Offset of the IP header for the link type, or -1 when not IP. */
static int capture_ip_offset(int linktype, const uint8_t *d, size_t len)
{
	switch (linktype) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	case DLT_NULL:		/* macOS utun: 4-byte family */
		return len >= 4 ? 4 : -1;
	case DLT_EN10MB: {
		size_t off = 12;

		while (len >= off + 2 && (d[off] == 0x81 || d[off] == 0x88) && d[off + 1] == 0x00)
			off += 4;	/* 802.1Q / 802.1ad tags */
		if (len < off + 2)
			return -1;
		if ((d[off] == 0x08 && d[off + 1] == 0x00) || (d[off] == 0x86 && d[off + 1] == 0xdd))
			return (int)off + 2;
		return -1;
	}
	case DLT_LINUX_SLL:
		return len >= 16 ? 16 : -1;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		return len >= 20 ? 20 : -1;
#endif
	}
	return -1;
}

/* One line: time, addresses and ports, protocol, length. Bounds-checked. */
static void capture_print(const struct capture *c, const struct pcap_pkthdr *h, const uint8_t *d)
{
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?", ports[32] = "";
	const char *proto = "ip";
	size_t len = h->caplen, hl;
	struct tm tm;
	time_t sec = h->ts.tv_sec;
	int off = capture_ip_offset(c->linktype, d, len);
	unsigned int p = 0;
	const uint8_t *ip, *l4;

	localtime_r(&sec, &tm);
	printf("%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min, tm.tm_sec, (long)h->ts.tv_usec);
	if (off < 0 || len < (size_t)off + 1) {
		printf("(not IP) length %u\n", h->len);
		return;
	}
	ip = d + off;
	len -= (size_t)off;
	if ((ip[0] >> 4) == 4 && len >= 20 && (hl = (size_t)(ip[0] & 0xf) * 4) >= 20 && len >= hl) {
		inet_ntop(AF_INET, ip + 12, src, sizeof(src));
		inet_ntop(AF_INET, ip + 16, dst, sizeof(dst));
		p = ip[9];
	} else if ((ip[0] >> 4) == 6 && len >= 40) {
		hl = 40;
		inet_ntop(AF_INET6, ip + 8, src, sizeof(src));
		inet_ntop(AF_INET6, ip + 24, dst, sizeof(dst));
		p = ip[6];
	} else {
		printf("(bad IP header) length %u\n", h->len);
		return;
	}
	l4 = ip + hl;
	if ((p == 6 || p == 17) && len >= hl + 4)
		snprintf(ports, sizeof(ports), "%u|%u", (unsigned)bytes_load_be16(l4),
			 (unsigned)bytes_load_be16(l4 + 2));
	proto = p == 6 ? "TCP" : p == 17 ? "UDP" : p == 1 ? "ICMP" : p == 58 ? "ICMP6" : "proto";
	if (ports[0]) {
		char *bar = strchr(ports, '|');

		*bar = '\0';
		printf("%s.%s > %s.%s: %s", src, ports, dst, bar + 1, proto);
	} else {
		printf("%s > %s: %s", src, dst, proto);
		if (!strcmp(proto, "proto"))
			printf(" %u", p);
	}
	if (p == 6 && len >= hl + 14) {
		static const char flags[] = "FSRPAU";

		printf(" [");
		for (int i = 0; i < 6; i++)
			if (l4[13] & (1 << i))
				putchar(flags[i]);
		printf("]");
	} else if ((p == 1 || p == 58) && len >= hl + 2) {
		printf(" type %u code %u", l4[0], l4[1]);
	}
	printf(", length %u\n", h->len);
}

static void capture_on_packet(uint8_t *user, const struct pcap_pkthdr *h, const uint8_t *d)
{
	struct capture *c = (void *)user;	/* our own pointer, handed back by libpcap */
	FILE *f;

	if (c->err || capture_stop) {
		pcap_breakloop(c->p);	/* never block on a stalled reader again */
		return;
	}
	if (!c->path) {
		capture_print(c, h, d);
		if (fflush(stdout) == EOF)
			c->err = errno ? errno : EIO;
	} else {
		if ((c->max_bytes && c->file_bytes + 16 + h->caplen > c->max_bytes &&
		     c->file_bytes > 24) ||
		    (c->rotate_secs && time(NULL) - c->file_start >= (time_t)c->rotate_secs)) {
			if (!c->to_stdout && capture_rotate(c)) {
				c->err = EIO;
				pcap_breakloop(c->p);
				return;
			}
		}
		if (c->to_stdout) {
			/* The pcap record header: 32-bit fields in our byte order, as the file's. */
			uint32_t rh[4] = { (uint32_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec,
					   h->caplen, h->len };
			int ret = capture_out(rh, sizeof(rh));

			if (ret == 0)
				ret = capture_out(d, h->caplen);
			/* Stopped while the reader stalls: the end, not an error. */
			if (ret && !(ret == -EINTR && capture_stop))
				c->err = -ret;
		} else {
			pcap_dump((uint8_t *)c->dump, h, d);
			c->file_bytes += 16 + h->caplen;
			/* Flushed per packet: a full disk is an error now, not at exit. */
			f = pcap_dump_file(c->dump);
			if (fflush(f) == EOF || ferror(f))
				c->err = errno ? errno : EIO;
		}
	}
	if (c->err) {
		pcap_breakloop(c->p);
		return;
	}
	if (++c->seen == c->count)
		pcap_breakloop(c->p);
}

/* Whether the capture goes on: not stopped, nor at its count or duration. */
static bool capture_going(const struct capture *c, time_t start, unsigned long duration)
{
	return !capture_stop && !c->err && (!c->count || c->seen < c->count) &&
	       (!duration || time(NULL) - start < (time_t)duration);
}

/* The exit status once the loop ended: 1, said why, if writing failed. */
static int capture_write_status(const struct capture *c)
{
	if (!c->err)
		return 0;
	fprintf(stderr, "gangway capture: stopped: cannot write the capture: %s\n",
		strerror(c->err));
	return 1;
}

/* libpcap on an interface, beside the daemon. Exit status. */
static int capture_live(struct capture *c, const char *iface, const char *filter,
			unsigned long snaplen, unsigned long duration)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct bpf_program prog;
	struct pcap_stat ps;
	time_t start;
	int ret, status = 1;

	c->p = pcap_create(iface, errbuf);
	if (!c->p) {
		fprintf(stderr, "gangway capture: %s\n", errbuf);
		return 1;
	}
	pcap_set_snaplen(c->p, (int)snaplen);
	pcap_set_timeout(c->p, 100);	/* wake to check the duration and signals */
	pcap_set_buffer_size(c->p, 4 << 20);
	ret = pcap_activate(c->p);
	if (ret < 0) {
		fprintf(stderr, "gangway capture: %s: %s\n", iface,
			ret == PCAP_ERROR ? pcap_geterr(c->p) : pcap_statustostr(ret));
		goto out;
	}
	c->linktype = pcap_datalink(c->p);
	if (pcap_setnonblock(c->p, 1, errbuf) < 0 || pcap_get_selectable_fd(c->p) < 0) {
		fprintf(stderr, "gangway capture: %s: cannot poll the capture\n", iface);
		goto out;
	}
	if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		fprintf(stderr, "gangway capture: bad filter '%s': %s\n", filter, pcap_geterr(c->p));
		goto out;
	}
	ret = pcap_setfilter(c->p, &prog);
	pcap_freecode(&prog);
	if (ret < 0) {
		fprintf(stderr, "gangway capture: %s\n", pcap_geterr(c->p));
		goto out;
	}
	if (c->path && capture_open_file(c))
		goto out;
	fprintf(stderr, "gangway capture: listening on %s (%s)%s%s\n", iface,
		pcap_datalink_val_to_name(c->linktype) ? pcap_datalink_val_to_name(c->linktype) : "?",
		filter[0] ? ", filter: " : "", filter);
	start = time(NULL);
	while (capture_going(c, start, duration)) {
		struct pollfd pfd = { .fd = pcap_get_selectable_fd(c->p), .events = POLLIN };

		/*
		 * Our own poll: libpcap's TPACKET_V3 timeout does not fire while
		 * no packet arrives, and the duration and signals must end us.
		 */
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ret = pcap_dispatch(c->p, -1, capture_on_packet, (uint8_t *)c);
		if (ret == PCAP_ERROR) {
			fprintf(stderr, "gangway capture: %s\n", pcap_geterr(c->p));
			goto out;
		}
	}
	status = capture_write_status(c);
out:
	if (pcap_stats(c->p, &ps) == 0)
		fprintf(stderr, "gangway capture: %lu packet(s) written, %u received by the "
			"filter, %u dropped (capture too slow)\n", c->seen,
			ps.ps_recv, ps.ps_drop);
	return status;
}

/*
 * Ask the daemon at path for a capture and read its first line: the
 * connected socket, or -1 (said why). The pcap stream follows "ok".
 */
static int capture_daemon_open(const char *path, const char *filter, unsigned long snaplen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char req[CTLSOCK_MAX_REQ + 1], line[CAPTURE_REPLY_MAX];
	size_t ll = 0, rl;
	int fd, n;

	n = snprintf(req, sizeof(req), "capture snaplen %lu%s%s\n", snaplen,
		     filter[0] ? " filter " : "", filter);
	if (n < 0 || n > CTLSOCK_MAX_REQ) {
		fprintf(stderr, "gangway capture: filter too long (the request is at most %d bytes)\n",
			CTLSOCK_MAX_REQ);
		return -1;
	}
	rl = (size_t)n;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "gangway capture: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);	/* the command execs nothing */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "gangway capture: cannot reach the daemon at %s: %s%s\n", path,
			strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED ? " (is it running? -i IF "
			"captures an interface without it)" : errno == EACCES ? " (run as root)" : "");
		goto fail;
	}
	for (size_t off = 0; off < rl;) {
		ssize_t w = send(fd, req + off, rl - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "gangway capture: cannot send the request: %s\n",
				strerror(w < 0 ? errno : EIO));
			goto fail;
		}
		off += (size_t)w;
	}
	/* Byte by byte: what follows the line is the pcap stream, ours to read. */
	while (ll < sizeof(line) - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, CAPTURE_ANSWER_MS) == 0) {
			fprintf(stderr, "gangway capture: no answer from the daemon at %s\n", path);
			goto fail;
		}
		r = read(fd, line + ll, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (line[ll] == '\n')
			break;
		ll++;
	}
	line[ll] = '\0';
	if (!strcmp(line, "ok"))
		return fd;
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	fprintf(stderr, "gangway capture: the daemon refused: %s\n",
		!strncmp(line, "error ", 6) ? line + 6 : ll ? line : "(no answer)");
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The pcap stream from the daemon; one record always fits in buf. */
struct capture_stream {
	uint8_t buf[CAPTAP_FILE_HDR_LEN + CAPTAP_REC_HDR_LEN + CAPTURE_SNAPLEN];
	size_t len;
	bool have_hdr;
};

/*
 * Hand every whole record in s to the output and keep the rest. -EPROTO
 * when the stream is not the daemon's pcap (checked, though the daemon is
 * root's: a record is never trusted to fit).
 */
static int capture_stream_records(struct capture *c, struct capture_stream *s)
{
	size_t off = 0;
	int ret = 0;

	if (!s->have_hdr) {
		uint32_t magic, linktype;

		if (s->len < CAPTAP_FILE_HDR_LEN)
			return 0;
		magic = bytes_load_host32(s->buf);
		linktype = bytes_load_host32(s->buf + 20);
		if (magic != 0xa1b2c3d4 || linktype != CAPTAP_LINKTYPE_RAW)
			return -EPROTO;
		off = CAPTAP_FILE_HDR_LEN;
		s->have_hdr = true;
	}
	while (s->len - off >= CAPTAP_REC_HDR_LEN && !c->err && !capture_stop &&
	       (!c->count || c->seen < c->count)) {
		struct pcap_pkthdr h;
		uint32_t rh[4];

		memcpy(rh, s->buf + off, sizeof(rh));
		if (rh[2] > rh[3] || rh[2] > CAPTURE_SNAPLEN || rh[1] >= 1000000) {
			ret = -EPROTO;
			break;
		}
		if (s->len - off - CAPTAP_REC_HDR_LEN < rh[2])
			break;
		h.ts.tv_sec = (time_t)rh[0];
		h.ts.tv_usec = (suseconds_t)rh[1];
		h.caplen = rh[2];
		h.len = rh[3];
		capture_on_packet((uint8_t *)c, &h, s->buf + off + CAPTAP_REC_HDR_LEN);
		off += CAPTAP_REC_HDR_LEN + rh[2];
	}
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
	return ret;
}

/* The daemon's capture-overflow count, from its JSON status; -1 if unknown. */
static long long capture_overflow(const char *path)
{
	static const char key[] = "\"capture-overflow\": ";
	char *body = NULL, *p;
	long long v = -1;

	if (ctlsock_client_request(path, "status json", &body) == 0 && (p = strstr(body, key)))
		v = strtoll(p + sizeof(key) - 1, NULL, 10);
	free(body);
	return v;
}

/* The daemon's own capture (captap.c) through its control socket. Exit status. */
static int capture_daemon(struct capture *c, const char *path, const char *name,
			  const char *filter, unsigned long snaplen, unsigned long duration)
{
	static struct capture_stream s;
	long long before, after;
	time_t start;
	int fd, status = 1;

	before = capture_overflow(path);
	fd = capture_daemon_open(path, filter, snaplen);
	if (fd < 0)
		return 1;
	c->p = pcap_open_dead(DLT_RAW, (int)snaplen);	/* for the pcap writers */
	c->linktype = DLT_RAW;
	if (!c->p || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		fprintf(stderr, "gangway capture: %s\n", strerror(c->p ? errno : ENOMEM));
		goto out;
	}
	if (c->path && capture_open_file(c))
		goto out;
	fprintf(stderr, "gangway capture: listening on %s (RAW) in the daemon%s%s\n", name,
		filter[0] ? ", filter: " : "", filter);
	start = time(NULL);
	while (capture_going(c, start, duration)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, s.buf + s.len, sizeof(s.buf) - s.len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			fprintf(stderr, "gangway capture: the daemon ended the capture%s%s\n",
				n ? ": " : "", n ? strerror(errno) : "");
			goto out;
		}
		s.len += (size_t)n;
		if (capture_stream_records(c, &s)) {
			fprintf(stderr, "gangway capture: the daemon sent something other than "
				"pcap records\n");
			goto out;
		}
	}
	status = capture_write_status(c);
out:
	close(fd);	/* the daemon detaches us */
	after = capture_overflow(path);
	if (before >= 0 && after >= before)
		fprintf(stderr, "gangway capture: %lu packet(s) written, %lld dropped by the "
			"daemon (capture overflow, all captures)\n", c->seen, after - before);
	else
		fprintf(stderr, "gangway capture: %lu packet(s) written\n", c->seen);
	return status;
}

int cmd_capture(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'F' },
		{ "socket", required_argument, NULL, 'S' },
		{ "write", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "file-size", required_argument, NULL, 'C' },
		{ "rotate", required_argument, NULL, 'G' },
		{ "files", required_argument, NULL, 'W' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct capture c;
	char filter[CAPTURE_FILTER_MAX] = "", name[512] = "", path[512];
	const char *config = NULL, *iface = NULL, *sock = NULL;
	unsigned long duration = 0, snaplen = CAPTURE_SNAPLEN, v;
	struct sigaction sa = { .sa_handler = capture_on_signal };
	size_t fl = 0;
	int ch, ret, status;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+i:w:c:d:C:G:W:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			iface = optarg;
			break;
		case 'F':
			config = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'w':
			c.path = optarg;
			c.to_stdout = !strcmp(optarg, "-");
			break;
		case 'h':
			fputs(cmd_capture_usage, stdout);
			return 0;
		case 'c': case 'd': case 'C': case 'G': case 'W': case 's':
			v = capture_num(optarg, ch == 'c' ? "count" : ch == 'd' ? "duration" :
					ch == 'C' ? "file size" : ch == 'G' ? "rotation" :
					ch == 'W' ? "file count" : "snaplen",
					ch == 's' ? CAPTURE_SNAPLEN : ch == 'C' ? 1000000 : UINT_MAX);
			if (!v)
				return 2;
			if (ch == 'c')
				c.count = v;
			else if (ch == 'd')
				duration = v;
			else if (ch == 'C')
				c.max_bytes = v * 1000000UL;
			else if (ch == 'G')
				c.rotate_secs = (unsigned int)v;
			else if (ch == 'W')
				c.max_files = (unsigned int)v;
			else
				snaplen = v;
			break;
		default:
			fputs(cmd_capture_usage, stderr);
			return 2;
		}
	}
	if ((c.max_bytes || c.rotate_secs) && (!c.path || c.to_stdout)) {
		fprintf(stderr, "gangway capture: -C and -G need -w FILE\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		int n = snprintf(filter + fl, sizeof(filter) - fl, "%s%s", i > optind ? " " : "",
				 argv[i]);

		if (n < 0 || (size_t)n >= sizeof(filter) - fl) {
			fprintf(stderr, "gangway capture: filter longer than %d bytes\n",
				CAPTURE_FILTER_MAX - 1);
			return 2;
		}
		fl += (size_t)n;
	}
	if (!iface) {
		ret = ctlsock_client_path(sock, config, path, sizeof(path));
		if (ret) {
			fprintf(stderr, "gangway capture: %s (or name an interface with -i)\n",
				ret == -EINVAL ? path : strerror(-ret));
			return 1;
		}
		snprintf(name, sizeof(name), "%s", path);
		if (!sock) {
			char err[CONFIG_ERR_LEN];
			struct config cf;

			/* The same file ctlsock_client_path read: name its tunnel. */
			if (!config)
				config = config_default_path();
			if (config_load(&cf, config, err, sizeof(err)) == 0)
				snprintf(name, sizeof(name), "%s", cf.ifname);
			config_free(&cf);
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a vanished reader is a write error, not death */
	if (iface)
		status = capture_live(&c, iface, filter, snaplen, duration);
	else
		status = capture_daemon(&c, path, name, filter, snaplen, duration);
	if (c.dump)
		pcap_dump_close(c.dump);
	if (c.p)
		pcap_close(c.p);
	return status;
}
