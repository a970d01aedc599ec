/* fuzz_ctlmsg.c - libFuzzer harness: control message unwrap and decode */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctlmsg m, again;
	static uint8_t buf[CTLMSG_MAX_LEN];
	struct prefix src, dst;
	const uint8_t *payload;
	int n;

	/* As an inner IP packet... */
	n = ctlmsg_unwrap(data, size, &src, &dst, &payload);
	if (n >= 0 && ctlmsg_decode(&m, payload, (size_t)n) == 0) {
		if (ctlmsg_encode(&m, buf, sizeof(buf)) != n)
			__builtin_trap();
	}
	/* ...and as a bare message: what decodes must encode to the same bytes. */
	if (ctlmsg_decode(&m, data, size) == 0) {
		n = ctlmsg_encode(&m, buf, sizeof(buf));
		if (n != (int)size || memcmp(buf, data, size) ||
		    ctlmsg_decode(&again, buf, (size_t)n))
			__builtin_trap();
	}
	return 0;
}
