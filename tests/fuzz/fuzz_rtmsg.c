/* fuzz_rtmsg.c - libFuzzer harness: macOS routing-socket dumps and messages */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "rtmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int families[] = { AF_INET, AF_INET6 };
	uint8_t buf[RTMSG_MAX_LEN], link[RTMSG_SDL_LEN];
	const uint8_t *msg;
	size_t off = 0, msglen;
	unsigned int ifindex;
	struct prefix rp, again;

	/* As a dump: every route read out must build into a message that reads back the same. */
	while (rtmsg_next(data, size, &off, &msg, &msglen)) {
		if (msg < data || msglen > size || (size_t)(msg - data) > size - msglen)
			__builtin_trap();
		for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
			int n;

			if (!rtmsg_parse_route(msg, msglen, families[f], &rp, &ifindex))
				continue;
			rtmsg_link_by_index(link, ifindex);
			n = rtmsg_route(buf, sizeof(buf), RTMSG_ADD, 1, 1, &rp, link, sizeof(link));
			if (n <= 0 || !rtmsg_parse_route(buf, (size_t)n, rp.family, &again, &ifindex) ||
			    !prefix_equal(&rp, &again))
				__builtin_trap();
		}
	}
	/* As one message, as the route watch hears it. */
	(void)rtmsg_watch_relevant(data, size);
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		(void)rtmsg_parse_route(data, size, families[f], &rp, &ifindex);
	return 0;
}
