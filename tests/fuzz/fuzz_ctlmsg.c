/* fuzz_ctlmsg.c - libFuzzer harness: control message unwrap, decode and authentication
 *
 * Three views of each input: an inner IP packet (unwrap, and the device
 * filter's test), a message as it arrives (decode with the tag check, then
 * the freshness rule on one long-lived receiver, whose state must stay
 * sane), and a message body sealed with the right key, so that inputs the
 * tag would stop still reach the parser and the freshness rule.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "ctlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[CTLMSG_KEY_LEN] = "fuzzing key, 32 bytes long.....";

static void check(int ret)
{
	if (ret != 0 && ret != -EBADMSG && ret != -EPERM && ret != -ECONNRESET &&
	    ret != -ESTALE && ret != -EALREADY)
		__builtin_trap();
}

/* NUL-terminated within size, and nothing a terminal acts on before it. */
static bool printable(const char *t, size_t size)
{
	size_t len = strnlen(t, size);

	for (size_t i = 0; i < len; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return len < size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctlmsg m, again;
	static struct ctlmsg_auth rx;
	static uint8_t buf[CTLMSG_MAX_LEN];
	static bool ready;
	struct prefix src, dst, cdst;
	const uint8_t *payload;
	uint64_t before;
	int n, ret;

	if (!ready) {
		if (crypto_init())
			__builtin_trap();
		memset(&rx, 0, sizeof(rx));
		memcpy(rx.rx_key, key, sizeof(key));
		rx.life = rx.nonce = 1;
		ready = true;
	}
	/* What a peer says, made safe to print: any bytes in, printable out. */
	{
		static char clean[CTLMSG_FINDING_TEXT_MAX + 1];

		if (ctlmsg_clean_text(clean, sizeof(clean), (const char *)data, size) >=
		    sizeof(clean) || !printable(clean, sizeof(clean)))
			__builtin_trap();
	}
	/* As an inner IP packet: what unwraps as control, the device filter catches. */
	n = ctlmsg_unwrap(data, size, &src, &dst, &payload);
	if (n >= 0 && (!ctlmsg_is_control(data, size, &cdst) || !prefix_equal(&cdst, &dst)))
		__builtin_trap();
	if (n >= 0 && ctlmsg_decode(&m, key, payload, (size_t)n) == 0) {
		if (ctlmsg_encode(&m, key, buf, sizeof(buf)) != n)
			__builtin_trap();
	}
	/* As a message: what decodes must encode to the same bytes, tag and all. */
	ret = ctlmsg_decode(&m, key, data, size);
	check(ret);
	if (ret == 0 || ret == -EPERM) {
		n = ctlmsg_encode(&m, key, buf, sizeof(buf));
		if (n != (int)size || memcmp(buf, data, size - CTLMSG_TAG_LEN) ||
		    ctlmsg_decode(&again, key, buf, (size_t)n))
			__builtin_trap();
		if (ret == 0 && memcmp(buf, data, size))
			__builtin_trap();
		/* FINDINGS: only printable ASCII gets through, each text said. */
		for (size_t i = 0; ret == 0 && m.type == CTLMSG_FINDINGS && i < m.n; i++)
			if (!printable(m.findings[i].text, sizeof(m.findings[i].text)) ||
			    !m.findings[i].text[0] ||
			    !printable(m.findings[i].fix, sizeof(m.findings[i].fix)))
				__builtin_trap();
		/* An ACK of itself: every remap it asks for is one of its entries. */
		if (ret == 0) {
			static struct prefix g[CTLMSG_MAX_PREFIXES], h[CTLMSG_MAX_PREFIXES];
			size_t ignored, k = ctlmsg_ack_remaps(&m, &m, g, h, &ignored);

			if (k + ignored > m.n)
				__builtin_trap();
		}
	}
	/* The body sealed with the right key: the freshness rule sees it all. */
	if (size >= CTLMSG_HDR_LEN && size <= CTLMSG_MAX_LEN - CTLMSG_TAG_LEN) {
		memcpy(buf, data, size);
		if (crypto_mac(buf + size, key, sizeof(key), buf, size))
			__builtin_trap();
		before = rx.rx_ctr;
		ret = ctlmsg_open(&rx, &m, buf, size + CTLMSG_TAG_LEN);
		check(ret);
		if (ret == 0 && (m.ctr <= before || rx.rx_ctr != m.ctr || m.echo != rx.nonce ||
				 m.life != rx.peer_life))
			__builtin_trap();
		if (!rx.nonce)
			__builtin_trap();
		/* Accepted once, never twice. */
		if (ret == 0 && ctlmsg_open(&rx, &m, buf, size + CTLMSG_TAG_LEN) != -EALREADY)
			__builtin_trap();
	}
	return 0;
}
