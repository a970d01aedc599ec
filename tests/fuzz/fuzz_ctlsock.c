/* fuzz_ctlsock.c - libFuzzer harness: control socket request parsing */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctlsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ctlsock_req req;
	int ret = ctlsock_parse((const char *)data, size, &req);

	/* Accepted requests are short printable words; anything else is an error. */
	if (ret == 0 && (size > 16 || req > CTLSOCK_REQ_PING))
		__builtin_trap();
	if (ret != 0 && ret != -EINVAL && ret != -E2BIG)
		__builtin_trap();
	if (size >= CTLSOCK_MAX_REQ && ret != -E2BIG)
		__builtin_trap();
	return 0;
}
