/* test_noise.c - the handshake, transport framing and cookies against known answers */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <libgen.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "bytes.h"
#include "cookie.h"
#include "crypto.h"
#include "noise.h"

/*
 * The known answers come from tests/vectors/handshake.txt, written by
 * tests/vectors/gen_handshake.py, an independent Python implementation.
 */
#define VEC_MAX		32
#define VEC_BYTES	256

struct vec {
	char name[64];
	uint8_t b[VEC_BYTES];
	size_t len;
};

static struct vec vecs[VEC_MAX];
static int nvecs;
static struct crypto_aead_ctx *aead;

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static FILE *open_vectors(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	const char *env = getenv("GANGWAY_VECTORS");
	FILE *f;
	ssize_t n;

	if (env && (f = fopen(env, "r")))
		return f;
	f = fopen("tests/vectors/handshake.txt", "r");
	if (f)
		return f;
	/* build/tests/test_noise -> ../../tests/vectors */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	snprintf(path, sizeof(path), "%s/../../tests/vectors/handshake.txt",
		 dirname(exe));
	return fopen(path, "r");
}

static int load_vectors(void **state)
{
	char line[1024];
	FILE *f = open_vectors();

	(void)state;
	if (!f) {
		fprintf(stderr, "cannot find tests/vectors/handshake.txt\n");
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *eq, *h;
		struct vec *v;

		if (line[0] == '#' || !(eq = strstr(line, " = ")))
			continue;
		if (nvecs == VEC_MAX)
			break;
		v = &vecs[nvecs];
		*eq = 0;
		if (strlen(line) >= sizeof(v->name))
			continue;
		memcpy(v->name, line, strlen(line) + 1);
		for (h = eq + 3; hexval(h[0]) >= 0 && hexval(h[1]) >= 0; h += 2) {
			if (v->len == VEC_BYTES)
				break;
			v->b[v->len++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
		}
		nvecs++;
	}
	fclose(f);
	aead = crypto_aead_ctx_new();
	return aead && nvecs >= 20 ? 0 : -1;
}

static int free_all(void **state)
{
	(void)state;
	crypto_aead_ctx_free(aead);
	return 0;
}

static const uint8_t *vec(const char *name, size_t want_len)
{
	int i;

	for (i = 0; i < nvecs; i++) {
		if (!strcmp(vecs[i].name, name)) {
			if (want_len && vecs[i].len != want_len)
				fail_msg("vector %s: %zu bytes, want %zu", name,
					 vecs[i].len, want_len);
			return vecs[i].b;
		}
	}
	fail_msg("vector %s missing", name);
	return NULL;
}

static size_t vec_len(const char *name)
{
	int i;

	for (i = 0; i < nvecs; i++)
		if (!strcmp(vecs[i].name, name))
			return vecs[i].len;
	fail_msg("vector %s missing", name);
	return 0;
}

static uint32_t vec_be32(const char *name)
{
	const uint8_t *b = vec(name, 4);

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t vec_be64(const char *name)
{
	const uint8_t *b = vec(name, 8);
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* Both sides' identities and views of each other, from the vectors. */
struct sides {
	struct noise_local ini, rsp;
	struct noise_remote ini_sees_rsp, rsp_sees_ini;
};

static void sides_init(struct sides *s)
{
	const uint8_t *psk = vec("preshared_key", 32);

	assert_int_equal(noise_local_init(&s->ini, vec("initiator_static_private", 32)), 0);
	assert_int_equal(noise_local_init(&s->rsp, vec("responder_static_private", 32)), 0);
	assert_memory_equal(s->ini.pub, vec("initiator_static_public", 32), 32);
	assert_memory_equal(s->rsp.pub, vec("responder_static_public", 32), 32);
	assert_int_equal(noise_remote_init(&s->ini_sees_rsp, &s->ini, s->rsp.pub, psk), 0);
	assert_int_equal(noise_remote_init(&s->rsp_sees_ini, &s->rsp, s->ini.pub, psk), 0);
}

static const struct noise_remote *lookup_one(void *arg, const uint8_t pub[32])
{
	const struct noise_remote *r = arg;

	return memcmp(r->pub, pub, 32) ? NULL : r;
}

static const struct noise_remote *lookup_none(void *arg, const uint8_t pub[32])
{
	(void)arg;
	(void)pub;
	return NULL;
}

/* Initiator: build message 1 from the fixed inputs, byte for byte. */
static void make_initiation(struct sides *s, struct noise_handshake *hs,
			    struct cookie_maker *cm, uint8_t msg[148])
{
	assert_int_equal(noise_create_initiation(hs, msg, &s->ini, &s->ini_sees_rsp,
						 aead, vec_be32("initiator_index"),
						 vec("initiator_ephemeral_private", 32),
						 vec("timestamp", 12)), 0);
	cookie_maker_init(cm, s->rsp.pub);
	assert_int_equal(cookie_add_macs(cm, msg, 148, 1000), 0);
}

static void test_tai64n(void **state)
{
	uint8_t ts[12];

	(void)state;
	/* the Python side: 1700000000 s and 123456789 ns, whitened */
	noise_tai64n(ts, 1700000000ULL * 1000000000ULL + 123456789ULL);
	assert_memory_equal(ts, vec("timestamp", 12), 12);
	/* whitening: 2^24 ns apart round to different values, 1 ns does not */
	noise_tai64n(ts, 1700000000ULL * 1000000000ULL + 123456789ULL + 1);
	assert_memory_equal(ts, vec("timestamp", 12), 12);
	noise_tai64n(ts, 1700000000ULL * 1000000000ULL + 123456789ULL + (1 << 24));
	assert_memory_not_equal(ts, vec("timestamp", 12), 12);
	assert_true(memcmp(ts, vec("timestamp", 12), 12) > 0);
}

static void test_initiation_kat(void **state)
{
	struct noise_handshake hs;
	struct cookie_maker cm;
	uint8_t msg[148];
	struct sides s;

	(void)state;
	sides_init(&s);
	make_initiation(&s, &hs, &cm, msg);
	assert_int_equal(hs.state, NOISE_CREATED_INITIATION);
	assert_int_equal(hs.local_index, vec_be32("initiator_index"));
	assert_memory_equal(msg, vec("initiation", 148), 148);
}

static void test_response_kat(void **state)
{
	const struct noise_remote *who = NULL;
	struct noise_handshake hs;
	struct cookie_maker cm;
	struct noise_keys k;
	uint8_t msg[92], ts[12];
	struct sides s;

	(void)state;
	sides_init(&s);
	/* the responder consumes the Python initiation */
	assert_int_equal(noise_consume_initiation(&hs, vec("initiation", 148), &s.rsp,
						  aead, lookup_one, &s.rsp_sees_ini,
						  &who, ts), 0);
	assert_ptr_equal(who, &s.rsp_sees_ini);
	assert_memory_equal(ts, vec("timestamp", 12), 12);
	assert_int_equal(hs.state, NOISE_CONSUMED_INITIATION);
	assert_int_equal(hs.remote_index, vec_be32("initiator_index"));

	assert_int_equal(noise_create_response(&hs, msg, &s.rsp_sees_ini, aead,
					       vec_be32("responder_index"),
					       vec("responder_ephemeral_private", 32)), 0);
	cookie_maker_init(&cm, s.ini.pub);
	assert_int_equal(cookie_add_macs(&cm, msg, 92, 1000), 0);
	assert_memory_equal(msg, vec("response", 92), 92);

	assert_int_equal(noise_derive_keys(&k, &hs), 0);
	assert_false(k.initiator);
	assert_memory_equal(k.send, vec("responder_send_key", 32), 32);
	assert_memory_equal(k.recv, vec("responder_recv_key", 32), 32);
	assert_int_equal(k.local_index, vec_be32("responder_index"));
	assert_int_equal(k.remote_index, vec_be32("initiator_index"));
	/* deriving wiped the transcript */
	assert_int_equal(hs.state, NOISE_ZEROED);
	assert_int_equal(noise_derive_keys(&k, &hs), -EINVAL);
}

static void test_initiator_consumes_response(void **state)
{
	struct noise_handshake hs, done;
	struct cookie_maker cm;
	struct noise_keys k;
	uint8_t msg[148];
	struct sides s;

	(void)state;
	sides_init(&s);
	make_initiation(&s, &hs, &cm, msg);
	assert_int_equal(noise_consume_response(&done, &hs, vec("response", 92),
						&s.ini, &s.ini_sees_rsp, aead), 0);
	assert_int_equal(done.state, NOISE_CONSUMED_RESPONSE);
	assert_int_equal(done.remote_index, vec_be32("responder_index"));
	/* the original transcript is untouched when out differs */
	assert_int_equal(hs.state, NOISE_CREATED_INITIATION);

	assert_int_equal(noise_derive_keys(&k, &done), 0);
	assert_true(k.initiator);
	assert_memory_equal(k.send, vec("initiator_send_key", 32), 32);
	assert_memory_equal(k.recv, vec("initiator_recv_key", 32), 32);
	assert_int_equal(k.local_index, vec_be32("initiator_index"));
	assert_int_equal(k.remote_index, vec_be32("responder_index"));

	/* in place too */
	assert_int_equal(noise_consume_response(&hs, &hs, vec("response", 92),
						&s.ini, &s.ini_sees_rsp, aead), 0);
	assert_int_equal(noise_derive_keys(&k, &hs), 0);
	assert_memory_equal(k.send, vec("initiator_send_key", 32), 32);
}

static void test_data_kat(void **state)
{
	uint8_t buf[16 + 96 + 16];
	size_t plen = vec_len("data_plaintext");
	uint64_t counter = vec_be64("data_counter");

	(void)state;
	assert_int_equal(plen, 84);
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf + 16, vec("data_plaintext", 84), 84);
	assert_int_equal(noise_data_seal(aead, vec("initiator_send_key", 32),
					 vec_be32("responder_index"), counter,
					 buf, 84, 96), 0);
	assert_int_equal(vec_len("data_packet"), sizeof(buf));
	assert_memory_equal(buf, vec("data_packet", sizeof(buf)), sizeof(buf));

	/* the responder opens the Python packet */
	memcpy(buf, vec("data_packet", sizeof(buf)), sizeof(buf));
	assert_int_equal(bytes_load_le64(buf + 8), counter);
	assert_int_equal(noise_data_open(aead, vec("responder_recv_key", 32), counter,
					 buf, sizeof(buf)), 0);
	assert_memory_equal(buf + 16, vec("data_plaintext", 84), 84);
	/* with zero padding */
	assert_true(buf[16 + 84] == 0 && buf[16 + 95] == 0);

	/* a wrong counter, a flipped bit, a short datagram: refused */
	memcpy(buf, vec("data_packet", sizeof(buf)), sizeof(buf));
	assert_int_equal(noise_data_open(aead, vec("responder_recv_key", 32),
					 counter + 1, buf, sizeof(buf)), -EBADMSG);
	memcpy(buf, vec("data_packet", sizeof(buf)), sizeof(buf));
	buf[40] ^= 0x10;
	assert_int_equal(noise_data_open(aead, vec("responder_recv_key", 32),
					 counter, buf, sizeof(buf)), -EBADMSG);
	assert_int_equal(noise_data_open(aead, vec("responder_recv_key", 32),
					 counter, buf, 31), -EBADMSG);
	assert_int_equal(noise_data_seal(aead, vec("initiator_send_key", 32), 1, 1,
					 buf, 20, 16), -EINVAL);
}

static void test_initiation_tampered(void **state)
{
	const struct noise_remote *who;
	struct noise_handshake hs;
	uint8_t msg[148], ts[12];
	struct sides s;
	int i;

	(void)state;
	sides_init(&s);
	/* any change in the ephemeral, static or timestamp fields breaks it */
	for (i = 8; i < 116; i++) {
		memcpy(msg, vec("initiation", 148), 148);
		msg[i] ^= (uint8_t)(1 << (i % 8));
		if (noise_consume_initiation(&hs, msg, &s.rsp, aead, lookup_one,
					     &s.rsp_sees_ini, &who, ts) == 0)
			fail_msg("byte %d flipped and still accepted", i);
		assert_int_equal(hs.state, NOISE_ZEROED);
		assert_null(who);
	}
	/* an unknown initiator */
	assert_int_equal(noise_consume_initiation(&hs, vec("initiation", 148), &s.rsp,
						  aead, lookup_none, NULL, &who, ts),
			 -ENOENT);
	/* addressed to somebody else */
	assert_int_not_equal(noise_consume_initiation(&hs, vec("initiation", 148),
						      &s.ini, aead, lookup_one,
						      &s.rsp_sees_ini, &who, ts), 0);
}

static void test_response_tampered(void **state)
{
	struct noise_handshake hs, out;
	struct cookie_maker cm;
	uint8_t msg[148], resp[92];
	struct noise_remote wrong_psk;
	struct sides s;
	int i;

	(void)state;
	sides_init(&s);
	make_initiation(&s, &hs, &cm, msg);
	/* the ephemeral and the empty AEAD (indices are covered by mac1 only) */
	for (i = 12; i < 60; i++) {
		memcpy(resp, vec("response", 92), 92);
		resp[i] ^= 0x01;
		if (noise_consume_response(&out, &hs, resp, &s.ini, &s.ini_sees_rsp,
					   aead) == 0)
			fail_msg("byte %d flipped and still accepted", i);
		assert_int_equal(out.state, NOISE_ZEROED);
	}
	/* a receiver index that is not ours */
	memcpy(resp, vec("response", 92), 92);
	resp[8] ^= 1;
	assert_int_equal(noise_consume_response(&out, &hs, resp, &s.ini,
						&s.ini_sees_rsp, aead), -EINVAL);
	/* the pre-shared key matters */
	assert_int_equal(noise_remote_init(&wrong_psk, &s.ini, s.rsp.pub, NULL), 0);
	assert_int_not_equal(noise_consume_response(&out, &hs, vec("response", 92),
						    &s.ini, &wrong_psk, aead), 0);
	/* the handshake must be waiting for a response */
	out.state = NOISE_ZEROED;
	assert_int_equal(noise_consume_response(&out, &out, vec("response", 92),
						&s.ini, &s.ini_sees_rsp, aead), -EINVAL);
}

/* Curve25519 points of small order (RFC 7748 and the kernel's selftests). */
static const uint8_t low_order[][32] = {
	{ 0 },
	{ 1 },
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
	  0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
	  0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};

static void test_low_order_keys(void **state)
{
	const struct noise_remote *who;
	struct noise_handshake hs;
	struct noise_remote r;
	uint8_t msg[148], ts[12];
	struct sides s;
	size_t i;

	(void)state;
	sides_init(&s);
	for (i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		/* as a peer's static key: no handshake can be made with it */
		assert_int_equal(noise_remote_init(&r, &s.ini, low_order[i], NULL), -EINVAL);
		assert_false(r.ss_ok);
		assert_int_equal(noise_create_initiation(&hs, msg, &s.ini, &r, aead, 1,
							 vec("initiator_ephemeral_private", 32),
							 vec("timestamp", 12)), -EINVAL);
		/* as the ephemeral of an initiation: refused before decrypting */
		memcpy(msg, vec("initiation", 148), 148);
		memcpy(msg + 8, low_order[i], 32);
		assert_int_not_equal(noise_consume_initiation(&hs, msg, &s.rsp, aead,
							      lookup_one, &s.rsp_sees_ini,
							      &who, ts), 0);
	}
}

/* Random keys, both directions through the real functions, many times. */
static void test_random_roundtrip(void **state)
{
	int round;

	(void)state;
	for (round = 0; round < 20; round++) {
		uint8_t a_priv[32], b_priv[32], e1[32], e2[32], psk[32], ts[12], ts2[12];
		struct noise_local a, b;
		struct noise_remote a_b, b_a;
		struct noise_handshake ha, hb;
		struct noise_keys ka, kb;
		const struct noise_remote *who;
		uint8_t m1[148], m2[92], pkt[16 + 32 + 16];

		assert_int_equal(crypto_x25519_genkey(a_priv), 0);
		assert_int_equal(crypto_x25519_genkey(b_priv), 0);
		assert_int_equal(crypto_x25519_genkey(e1), 0);
		assert_int_equal(crypto_x25519_genkey(e2), 0);
		assert_int_equal(crypto_random(psk, 32), 0);
		noise_tai64n(ts, (uint64_t)round * 1000000000ULL);
		assert_int_equal(noise_local_init(&a, a_priv), 0);
		assert_int_equal(noise_local_init(&b, b_priv), 0);
		assert_int_equal(noise_remote_init(&a_b, &a, b.pub, round & 1 ? psk : NULL), 0);
		assert_int_equal(noise_remote_init(&b_a, &b, a.pub, round & 1 ? psk : NULL), 0);
		assert_memory_equal(a_b.ss, b_a.ss, 32);

		assert_int_equal(noise_create_initiation(&ha, m1, &a, &a_b, aead, 11, e1, ts), 0);
		assert_int_equal(noise_consume_initiation(&hb, m1, &b, aead, lookup_one,
							  &b_a, &who, ts2), 0);
		assert_memory_equal(ts, ts2, 12);
		assert_int_equal(noise_create_response(&hb, m2, &b_a, aead, 22, e2), 0);
		assert_int_equal(noise_consume_response(&ha, &ha, m2, &a, &a_b, aead), 0);
		assert_int_equal(noise_derive_keys(&ka, &ha), 0);
		assert_int_equal(noise_derive_keys(&kb, &hb), 0);
		assert_memory_equal(ka.send, kb.recv, 32);
		assert_memory_equal(ka.recv, kb.send, 32);
		assert_memory_not_equal(ka.send, ka.recv, 32);
		assert_int_equal(ka.remote_index, 22);
		assert_int_equal(kb.remote_index, 11);

		memset(pkt, 0, sizeof(pkt));
		memcpy(pkt + 16, "hello from the responder side!!", 32);
		assert_int_equal(noise_data_seal(aead, kb.send, 11, round, pkt, 32, 32), 0);
		assert_int_equal(noise_data_open(aead, ka.recv, round, pkt, sizeof(pkt)), 0);
		assert_memory_equal(pkt + 16, "hello from the responder side!!", 32);
	}
}

static void set_sin(struct sockaddr_in *sin, const uint8_t addr[4], uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
	sin->sin_port = htons(port);
}

static void test_cookie_kat(void **state)
{
	struct cookie_checker cc;
	struct cookie_maker cm;
	struct noise_handshake hs;
	struct sockaddr_in src, other;
	uint8_t msg[148], reply[64], again[148];
	const uint64_t now = 5000000000ULL;
	struct sides s;

	(void)state;
	sides_init(&s);
	make_initiation(&s, &hs, &cm, msg);	/* cm remembers the mac1 it sent */
	cookie_checker_init(&cc, s.rsp.pub);
	memcpy(cc.secret, vec("cookie_secret", 32), 32);
	cc.secret_birth = now;
	cc.secret_set = true;
	set_sin(&src, vec("cookie_source_ipv4", 4), 51820);
	assert_int_equal(ntohs(src.sin_port),
			 vec("cookie_source_port", 2)[0] << 8 | vec("cookie_source_port", 2)[1]);

	/* mac1 good, no mac2 yet */
	assert_int_equal(cookie_validate(&cc, msg, 148, (struct sockaddr *)&src, false, now),
			 COOKIE_MAC1_OK);
	assert_int_equal(cookie_validate(&cc, msg, 148, (struct sockaddr *)&src, true, now),
			 COOKIE_MAC1_OK);

	assert_int_equal(cookie_create_reply(&cc, reply, msg, 148, (struct sockaddr *)&src,
					     now, vec("cookie_nonce", 24)), 0);
	assert_memory_equal(reply, vec("cookie_reply", 64), 64);

	/* the initiator takes it, once */
	assert_int_equal(cookie_consume_reply(&cm, vec("cookie_reply", 64), now), 0);
	assert_true(cm.cookie_valid);
	assert_memory_equal(cm.cookie, vec("cookie", 16), 16);
	assert_int_equal(cookie_consume_reply(&cm, vec("cookie_reply", 64), now), -EINVAL);

	/* and its next message carries mac2, byte for byte */
	memcpy(again, msg, 148);
	assert_int_equal(cookie_add_macs(&cm, again, 148, now + 1), 0);
	assert_memory_equal(again, vec("initiation_with_mac2", 148), 148);
	assert_int_equal(cookie_validate(&cc, again, 148, (struct sockaddr *)&src, true, now),
			 COOKIE_MAC2_OK);
	/* not from another port of the same host */
	other = src;
	other.sin_port = htons(51821);
	assert_int_equal(cookie_validate(&cc, again, 148, (struct sockaddr *)&other, true, now),
			 COOKIE_MAC1_OK);
	/* the cookie goes stale after two minutes less the latency margin */
	assert_int_equal(cookie_add_macs(&cm, again, 148,
					 now + COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY), 0);
	assert_memory_equal(again + 132, (uint8_t[16]){ 0 }, 16);
	cookie_checker_wipe(&cc);
}

static void test_cookie_reply_forged(void **state)
{
	struct cookie_checker cc;
	struct cookie_maker cm, fresh;
	struct noise_handshake hs;
	struct sockaddr_in src;
	uint8_t msg[148], reply[64];
	struct sides s;
	int i;

	(void)state;
	sides_init(&s);
	make_initiation(&s, &hs, &cm, msg);
	cookie_checker_init(&cc, s.rsp.pub);
	set_sin(&src, (const uint8_t[4]){ 198, 51, 100, 7 }, 4000);
	assert_int_equal(cookie_create_reply(&cc, reply, msg, 148, (struct sockaddr *)&src,
					     1, vec("cookie_nonce", 24)), 0);
	for (i = 8; i < 64; i++) {
		uint8_t bad[64];

		memcpy(bad, reply, 64);
		bad[i] ^= 0x80;
		assert_int_equal(cookie_consume_reply(&cm, bad, 1), -EBADMSG);
	}
	assert_false(cm.cookie_valid);
	/* a maker that sent nothing takes no cookie */
	cookie_maker_init(&fresh, s.rsp.pub);
	assert_int_equal(cookie_consume_reply(&fresh, reply, 1), -EINVAL);
	assert_int_equal(cookie_consume_reply(&cm, reply, 1), 0);

	/* a bad mac1 is reported before anything else */
	msg[116] ^= 1;
	assert_int_equal(cookie_validate(&cc, msg, 148, (struct sockaddr *)&src, true, 1),
			 COOKIE_BAD_MAC1);
	assert_int_equal(cookie_validate(&cc, msg, 10, (struct sockaddr *)&src, true, 1),
			 COOKIE_BAD_MAC1);
}

static void test_cookie_secret_rotation(void **state)
{
	struct cookie_checker cc;
	struct cookie_maker cm;
	struct noise_handshake hs;
	struct sockaddr_in6 src;
	uint8_t msg[148], reply[64], first_secret[32];
	const uint64_t t0 = 1000;
	struct sides s;

	(void)state;
	sides_init(&s);
	make_initiation(&s, &hs, &cm, msg);
	cookie_checker_init(&cc, s.rsp.pub);
	memset(&src, 0, sizeof(src));
	src.sin6_family = AF_INET6;
	src.sin6_port = htons(7);
	inet_pton(AF_INET6, "2001:db8::1", &src.sin6_addr);

	assert_int_equal(cookie_create_reply(&cc, reply, msg, 148, (struct sockaddr *)&src,
					     t0, vec("cookie_nonce", 24)), 0);
	assert_true(cc.secret_set);
	memcpy(first_secret, cc.secret, 32);
	assert_int_equal(cookie_consume_reply(&cm, reply, t0), 0);
	assert_int_equal(cookie_add_macs(&cm, msg, 148, t0 + 1), 0);
	assert_int_equal(cookie_validate(&cc, msg, 148, (struct sockaddr *)&src, true,
					 t0 + COOKIE_SECRET_MAX_AGE - 1), COOKIE_MAC2_OK);
	assert_memory_equal(cc.secret, first_secret, 32);
	/* two minutes on, the secret is new and the old cookie worthless */
	assert_int_equal(cookie_validate(&cc, msg, 148, (struct sockaddr *)&src, true,
					 t0 + COOKIE_SECRET_MAX_AGE), COOKIE_MAC1_OK);
	assert_memory_not_equal(cc.secret, first_secret, 32);
}

static void test_ratelimit(void **state)
{
	struct cookie_ratelimit rl;
	struct sockaddr_in a, b;
	struct sockaddr_in6 c, d, mapped;
	uint64_t now = 10 * 1000000000ULL;
	int i, allowed;

	(void)state;
	assert_int_equal(cookie_ratelimit_init(&rl), 0);
	set_sin(&a, (const uint8_t[4]){ 192, 0, 2, 10 }, 1);
	set_sin(&b, (const uint8_t[4]){ 192, 0, 2, 11 }, 1);

	/* a burst of 5, then nothing until tokens come back */
	for (i = 0; i < COOKIE_RATELIMIT_BURST; i++)
		assert_true(cookie_ratelimit_allow(&rl, (struct sockaddr *)&a, now));
	assert_false(cookie_ratelimit_allow(&rl, (struct sockaddr *)&a, now));
	/* another port is the same source; another address is not */
	a.sin_port = htons(999);
	assert_false(cookie_ratelimit_allow(&rl, (struct sockaddr *)&a, now));
	assert_true(cookie_ratelimit_allow(&rl, (struct sockaddr *)&b, now));
	/* one token per 1/20 s */
	assert_false(cookie_ratelimit_allow(&rl, (struct sockaddr *)&a,
					    now + 1000000000ULL / 20 - 1000));
	assert_true(cookie_ratelimit_allow(&rl, (struct sockaddr *)&a,
					   now + 1000000000ULL / 20));
	assert_false(cookie_ratelimit_allow(&rl, (struct sockaddr *)&a,
					    now + 1000000000ULL / 20));

	/* over ten seconds of steady asking, about 20/s get through */
	allowed = 0;
	for (i = 0; i < 10000; i++)
		allowed += cookie_ratelimit_allow(&rl, (struct sockaddr *)&b,
						  now + 1000000000ULL + (uint64_t)i * 1000000ULL);
	assert_in_range(allowed, 200, 206);

	/* IPv6 sources share a bucket per /64; v4-mapped counts as IPv4 */
	memset(&c, 0, sizeof(c));
	c.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &c.sin6_addr);
	d = c;
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &d.sin6_addr);
	for (i = 0; i < COOKIE_RATELIMIT_BURST; i++)
		assert_true(cookie_ratelimit_allow(&rl, (struct sockaddr *)&c, now));
	assert_false(cookie_ratelimit_allow(&rl, (struct sockaddr *)&d, now));
	inet_pton(AF_INET6, "2001:db8:1:3::1", &d.sin6_addr);
	assert_true(cookie_ratelimit_allow(&rl, (struct sockaddr *)&d, now));
	mapped = c;
	inet_pton(AF_INET6, "::ffff:192.0.2.10", &mapped.sin6_addr);
	assert_false(cookie_ratelimit_allow(&rl, (struct sockaddr *)&mapped,
					    now + 1000000000ULL / 20));

	cookie_ratelimit_free(&rl);
}

/*
 * A flood from a million sources: the table never grows (it is a fixed
 * array), and a real source that was evicted gets a fresh bucket, never a
 * refusal it did not earn.
 */
static void test_ratelimit_flood_bounded(void **state)
{
	struct cookie_ratelimit rl;
	struct cookie_ratelimit_entry *table;
	struct sockaddr_in src, real;
	uint64_t now = 1000;
	uint32_t i;

	(void)state;
	assert_int_equal(cookie_ratelimit_init(&rl), 0);
	table = rl.table;
	set_sin(&real, (const uint8_t[4]){ 203, 0, 113, 5 }, 1);
	assert_true(cookie_ratelimit_allow(&rl, (struct sockaddr *)&real, now));
	for (i = 0; i < 1000000; i++) {
		uint8_t addr[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };

		set_sin(&src, addr, 1);
		assert_true(cookie_ratelimit_allow(&rl, (struct sockaddr *)&src, now + i));
	}
	assert_ptr_equal(rl.table, table);
	assert_true(cookie_ratelimit_allow(&rl, (struct sockaddr *)&real, now + i));
	cookie_ratelimit_free(&rl);
	assert_null(rl.table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tai64n),
		cmocka_unit_test(test_initiation_kat),
		cmocka_unit_test(test_response_kat),
		cmocka_unit_test(test_initiator_consumes_response),
		cmocka_unit_test(test_data_kat),
		cmocka_unit_test(test_initiation_tampered),
		cmocka_unit_test(test_response_tampered),
		cmocka_unit_test(test_low_order_keys),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_cookie_kat),
		cmocka_unit_test(test_cookie_reply_forged),
		cmocka_unit_test(test_cookie_secret_rotation),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_ratelimit_flood_bounded),
	};

	return cmocka_run_group_tests(tests, load_vectors, free_all);
}
