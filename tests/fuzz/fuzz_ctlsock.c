/* fuzz_ctlsock.c - libFuzzer harness: control socket request parsing */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "captap.h"
#include "ctlsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctlsock_capture cap;
	enum ctlsock_req req;
	int ret = ctlsock_parse((const char *)data, size, &req);

	/*
	 * Accepted requests are short printable words, or a capture request
	 * whose arguments parse within bounds; anything else is an error.
	 */
	if (ret == 0 && req == CTLSOCK_REQ_CAPTURE) {
		if (ctlsock_parse_capture((const char *)data, size, &cap) != 0 ||
		    cap.snaplen > CAPTAP_SNAPLEN_MAX ||
		    (cap.filter[0] && (strlen(cap.filter) + 15 > size ||
				       !memmem(data, size, cap.filter, strlen(cap.filter)))))
			__builtin_trap();
	} else if (ret == 0 && (size > 16 || req > CTLSOCK_REQ_NAMES)) {
		__builtin_trap();
	}
	if (ret != 0 && ctlsock_parse_capture((const char *)data, size, &cap) == 0)
		__builtin_trap();
	if (ret != 0 && ret != -EINVAL && ret != -E2BIG)
		__builtin_trap();
	if (size >= CTLSOCK_MAX_REQ && ret != -E2BIG)
		__builtin_trap();
	return 0;
}
