/* captap.c - the daemon's tap on its packet path: matching inner packets to capture clients as pcap
 *
 * Theory of operation: the tunnel calls captap_hook() at the two places
 * where a packet is plain IP, both ways; the hook tests one pointer, which
 * is NULL unless a client is attached, so an idle tap costs a predicted
 * branch. With clients, each packet is run through each client's filter
 * (classic BPF compiled by libpcap for raw IP, run by bpf_filter()) and a
 * match is sent as one pcap record with a non-blocking sendmsg: one copy,
 * no buffering of our own. A full socket (the reader is slow or stopped)
 * loses the packet, counted as capture-overflow; the client is then marked
 * blocked and further packets are dropped without a system call until the
 * loop says the socket has room again (EPOLLOUT, which for a unix stream
 * socket means three quarters of its buffer drained). The stream must stay
 * whole records: when the kernel takes only part of one, the rest waits in
 * the client's own fixed buffer (one record's worth, allocated at attach)
 * and goes first once there is room. A reader that went away shows as end
 * of file or an error on the socket and is detached.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "captap.h"
#include "log.h"
#include "loop.h"

#ifdef __linux__	/* the tap waits for room with the epoll loop's EPOLLOUT; macOS: no tap */
#include <fcntl.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <pcap/pcap.h>

/* loop_epoll_linux.c passes event masks to epoll unchanged; loop.h names no "writable". */
#define CAPTAP_LOOP_OUT		0x004u
_Static_assert(CAPTAP_LOOP_OUT == EPOLLOUT, "CAPTAP_LOOP_OUT must be EPOLLOUT");

/* Socket buffer asked for: room for bursts of a reader that keeps up on average. */
#define CAPTAP_SNDBUF		(1 << 20)

struct captap_client {
	int fd;				/* -1: free */
	bool filtered;			/* prog holds a compiled filter */
	bool blocked;			/* socket full: dropping until it has room */
	bool half_closed;		/* end of file read: watch for hangup only */
	uint32_t caplen_max;		/* min(snaplen, CAPTAP_MAX_PACKET) */
	struct bpf_program prog;
	uint8_t *pend;			/* CAPTAP_REC_HDR_LEN + caplen_max bytes */
	size_t pend_off, pend_len;	/* the unsent tail of a partly sent record */
	uint64_t packets, overflow;	/* this client's, for the log */
};

struct captap {
	struct loop *loop;
	captap_publish_fn publish;	/* tells the tunnel to show us packets, or to stop */
	void *publish_ctx;
	struct captap_stats *stats;
	struct captap_client clients[CAPTAP_MAX_CLIENTS];
};

static void captap_on_client(void *ctx, int fd, uint32_t events);

/* The tunnel sees the tap only while someone listens. */
static void captap_publish(struct captap *tap)
{
	tap->publish(tap->publish_ctx, tap->stats->clients ? tap : NULL);
}

static void captap_detach(struct captap *tap, struct captap_client *cl, const char *why)
{
	loop_del_fd(tap->loop, cl->fd);
	close(cl->fd);
	cl->fd = -1;
	if (cl->filtered)
		pcap_freecode(&cl->prog);
	cl->filtered = false;
	free(cl->pend);
	cl->pend = NULL;
	cl->pend_len = cl->pend_off = 0;
	cl->blocked = false;
	tap->stats->clients--;
	captap_publish(tap);
	log_info("Capture detached (%s): %llu packet(s) sent, %llu dropped (capture overflow)",
		 why, (unsigned long long)cl->packets, (unsigned long long)cl->overflow);
}

/*
 * Watch fd for the reader leaving, and for room when out is set. After end
 * of file, input would be ready forever: hangups are reported regardless.
 */
static int captap_watch(struct captap *tap, struct captap_client *cl, bool out)
{
	int ret;

	loop_del_fd(tap->loop, cl->fd);
	ret = loop_add_fd(tap->loop, cl->fd,
			  (cl->half_closed ? 0 : LOOP_IN) | (out ? CAPTAP_LOOP_OUT : 0),
			  captap_on_client, tap);
	if (ret < 0)
		captap_detach(tap, cl, "cannot watch it");
	return ret;
}

static void captap_drop(struct captap *tap, struct captap_client *cl)
{
	cl->overflow++;
	tap->stats->overflow++;
}

/* Send what is left of a partly sent record: 0 when all is out, -EAGAIN, -errno. */
static int captap_flush(struct captap_client *cl)
{
	while (cl->pend_off < cl->pend_len) {
		ssize_t n = send(cl->fd, cl->pend + cl->pend_off, cl->pend_len - cl->pend_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EWOULDBLOCK || errno == ENOBUFS ? -EAGAIN : -errno;
		cl->pend_off += (size_t)n;
	}
	cl->pend_off = cl->pend_len = 0;
	return 0;
}

static void captap_on_client(void *ctx, int fd, uint32_t events)
{
	struct captap *tap = ctx;
	struct captap_client *cl = NULL;
	char junk[256];
	ssize_t n;
	int ret;

	for (size_t i = 0; i < CAPTAP_MAX_CLIENTS; i++)
		if (tap->clients[i].fd == fd)
			cl = &tap->clients[i];
	if (!cl)
		return;
	/* Closed (or killed) for good: a unix stream socket reports HUP. */
	if (events & (LOOP_HUP | LOOP_ERR)) {
		captap_detach(tap, cl, "the reader went away");
		return;
	}
	if (events & CAPTAP_LOOP_OUT) {
		ret = captap_flush(cl);
		if (ret && ret != -EAGAIN) {
			captap_detach(tap, cl, strerror(-ret));
			return;
		}
		if (!ret) {
			cl->blocked = false;
			if (captap_watch(tap, cl, false) < 0)
				return;
		}
	}
	if (!(events & LOOP_IN))
		return;
	/* A client says nothing after its request: anything it sends is ignored. */
	n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
		return;
	if (n < 0) {
		captap_detach(tap, cl, strerror(errno));
		return;
	}
	/* Only its writing side closed (socat does that): it still reads. */
	cl->half_closed = true;
	captap_watch(tap, cl, cl->blocked);
}

struct captap *captap_new(struct loop *loop, captap_publish_fn publish, void *ctx,
			  struct captap_stats *stats)
{
	struct captap *tap = calloc(1, sizeof(*tap));

	if (!tap)
		return NULL;
	tap->loop = loop;
	tap->publish = publish;
	tap->publish_ctx = ctx;
	tap->stats = stats;
	for (size_t i = 0; i < CAPTAP_MAX_CLIENTS; i++)
		tap->clients[i].fd = -1;
	stats->clients = 0;
	captap_publish(tap);
	return tap;
}

void captap_free(struct captap *tap)
{
	if (!tap)
		return;
	for (size_t i = 0; i < CAPTAP_MAX_CLIENTS; i++)
		if (tap->clients[i].fd >= 0)
			captap_detach(tap, &tap->clients[i], "shutting down");
	tap->publish(tap->publish_ctx, NULL);
	free(tap);
}

static void captap_err(char *err, size_t errlen, const char *msg)
{
	if (errlen)
		snprintf(err, errlen, "%s", msg);
}

/* The pcap file header, in our byte order (readers detect it from the magic). */
struct captap_file_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;		/* timestamps are UTC */
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};
_Static_assert(sizeof(struct captap_file_hdr) == CAPTAP_FILE_HDR_LEN, "pcap file header");

int captap_attach(struct captap *tap, int fd, uint32_t snaplen, const char *filter,
		  const void *lead, size_t lead_len, char *err, size_t errlen)
{
	struct captap_client *cl = NULL;
	struct captap_file_hdr hdr = { .magic = 0xa1b2c3d4, .major = 2, .minor = 4,
				       .snaplen = snaplen, .linktype = CAPTAP_LINKTYPE_RAW };
	struct iovec iov[2] = { { (void *)lead, lead_len }, { &hdr, sizeof(hdr) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	int sndbuf = CAPTAP_SNDBUF, flags, ret;
	ssize_t n;
	pcap_t *p;

	captap_err(err, errlen, "");
	if (!tap) {
		captap_err(err, errlen, "capture is not available");
		return -EOPNOTSUPP;
	}
	if (snaplen == 0 || snaplen > CAPTAP_SNAPLEN_MAX) {
		captap_err(err, errlen, "snaplen out of range");
		return -EINVAL;
	}
	for (size_t i = 0; i < CAPTAP_MAX_CLIENTS && !cl; i++)
		if (tap->clients[i].fd < 0)
			cl = &tap->clients[i];
	if (!cl) {
		captap_err(err, errlen, "too many captures");
		return -EBUSY;
	}
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
	if (filter && *filter) {
		p = pcap_open_dead(DLT_RAW, (int)snaplen);
		if (!p)
			return -ENOMEM;
		if (pcap_compile(p, &cl->prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			captap_err(err, errlen, pcap_geterr(p));
			pcap_close(p);
			return -EINVAL;
		}
		pcap_close(p);
		cl->filtered = true;
	}
	cl->caplen_max = snaplen < CAPTAP_MAX_PACKET ? snaplen : CAPTAP_MAX_PACKET;
	cl->pend = malloc(CAPTAP_REC_HDR_LEN + cl->caplen_max);
	if (!cl->pend) {
		ret = -ENOMEM;
		goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Best effort: capped by net.core.wmem_max. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	ret = loop_add_fd(tap->loop, fd, LOOP_IN, captap_on_client, tap);
	if (ret < 0)
		goto fail;
	/* A fresh connection's buffer is empty: these few bytes go whole or not at all. */
	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != (ssize_t)(lead_len + sizeof(hdr))) {
		ret = n < 0 ? -errno : -EIO;
		loop_del_fd(tap->loop, fd);
		goto fail;
	}
	cl->fd = fd;
	tap->stats->clients++;
	captap_publish(tap);
	log_info("Capture attached: snaplen %u, filter '%s'", snaplen,
		 filter && *filter ? filter : "(none)");
	return 0;
fail:
	captap_err(err, errlen, strerror(-ret));
	if (cl->filtered)
		pcap_freecode(&cl->prog);
	cl->filtered = false;
	free(cl->pend);
	cl->pend = NULL;
	return ret;
}

/* Room again only when the loop says so (captap_on_client). */
static void captap_block(struct captap *tap, struct captap_client *cl)
{
	cl->blocked = true;
	captap_watch(tap, cl, true);
}

static void captap_send(struct captap *tap, struct captap_client *cl, const struct timespec *ts,
			const uint8_t *pkt, size_t len)
{
	uint32_t caplen = len < cl->caplen_max ? (uint32_t)len : cl->caplen_max;
	uint32_t rh[4] = { (uint32_t)ts->tv_sec, (uint32_t)(ts->tv_nsec / 1000), caplen,
			   (uint32_t)len };
	struct iovec iov[2] = { { rh, sizeof(rh) }, { (void *)pkt, caplen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t total = sizeof(rh) + caplen, sent;
	ssize_t n;

	n = sendmsg(cl->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)total) {
		cl->packets++;
		tap->stats->packets++;
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			captap_drop(tap, cl);
			captap_block(tap, cl);
		} else if (errno == EINTR) {
			captap_drop(tap, cl);
		} else {
			captap_detach(tap, cl, strerror(errno));
		}
		return;
	}
	/* Part of the record went: keep the rest, the stream must stay whole records. */
	sent = (size_t)n;
	if (sent < sizeof(rh)) {
		memcpy(cl->pend, (const uint8_t *)rh + sent, sizeof(rh) - sent);
		memcpy(cl->pend + sizeof(rh) - sent, pkt, caplen);
	} else {
		memcpy(cl->pend, pkt + (sent - sizeof(rh)), total - sent);
	}
	cl->pend_off = 0;
	cl->pend_len = total - sent;
	cl->packets++;
	tap->stats->packets++;
	captap_block(tap, cl);
}

void captap_packet(struct captap *tap, const uint8_t *pkt, size_t len)
{
	struct timespec ts;
	bool have_ts = false;

	for (size_t i = 0; i < CAPTAP_MAX_CLIENTS; i++) {
		struct captap_client *cl = &tap->clients[i];

		if (cl->fd < 0)
			continue;
		if (cl->filtered &&
		    !bpf_filter(cl->prog.bf_insns, pkt, (unsigned int)len, (unsigned int)len))
			continue;
		if (cl->blocked) {
			captap_drop(tap, cl);
			continue;
		}
		if (!have_ts) {
			clock_gettime(CLOCK_REALTIME, &ts);
			have_ts = true;
		}
		captap_send(tap, cl, &ts, pkt, len);
	}
}

#else	/* no libpcap: the control socket answers that capture is not available */

struct captap *captap_new(struct loop *loop, captap_publish_fn publish, void *ctx,
			  struct captap_stats *stats)
{
	publish(ctx, NULL);
	stats->clients = 0;
	errno = EOPNOTSUPP;
	return NULL;
}

void captap_free(struct captap *tap)
{
}

int captap_attach(struct captap *tap, int fd, uint32_t snaplen, const char *filter,
		  const void *lead, size_t lead_len, char *err, size_t errlen)
{
	if (errlen)
		snprintf(err, errlen, "capture in the daemon is not available on this system "
			 "(capture its device instead: gangway capture -i utunN)");
	return -EOPNOTSUPP;
}

void captap_packet(struct captap *tap, const uint8_t *pkt, size_t len)
{
}
#endif
