/* test_crypto.c - known-answer and behaviour tests for the crypto wrappers */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "crypto.h"

/*
 * Vector sources, named at each use:
 *  - RFC 7693 Appendix B (BLAKE2s-256 of "abc");
 *  - RFC 7748 sections 5.2 and 6.1 (X25519);
 *  - RFC 8439 sections 2.8.2 and A.5 (ChaCha20-Poly1305);
 *  - draft-irtf-cfrg-xchacha-03 sections 2.2.1 and A.3.1;
 *  - values marked "python3" were computed with CPython's hashlib/hmac
 *    (its own BLAKE2 code, not OpenSSL's), with the expression given.
 */

/*
 * libcrypto's allocator is replaced: every allocation is counted (to prove
 * the hot paths make none) and carries a header with its size and a place
 * in a list of live blocks, so that a block can be searched for a watched
 * key when libcrypto frees it (to prove that freeing a keyed AEAD context
 * leaves no copy of its key) and every block libcrypto still holds can be
 * searched at any moment (to prove that a context kept for reuse keeps no
 * key once its user is done).
 */
struct alloc_hdr {
	struct alloc_hdr *prev, *next;
	size_t size;
	size_t pad;			/* keeps malloc's 16-byte alignment */
};
_Static_assert(sizeof(struct alloc_hdr) % 16 == 0, "header breaks alignment");

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct alloc_hdr alloc_live = { &alloc_live, &alloc_live, 0, 0 };
static size_t alloc_count;
static const uint8_t *watch_key;	/* CRYPTO_KEY_LEN bytes, or NULL */
static size_t watch_hits;		/* freed blocks that held it */

static void *alloc_link(struct alloc_hdr *h, size_t n)
{
	h->size = n;
	pthread_mutex_lock(&alloc_lock);
	alloc_count++;
	h->next = &alloc_live;
	h->prev = alloc_live.prev;
	alloc_live.prev->next = h;
	alloc_live.prev = h;
	pthread_mutex_unlock(&alloc_lock);
	return h + 1;
}

static struct alloc_hdr *alloc_unlink(void *p)
{
	struct alloc_hdr *h = (struct alloc_hdr *)p - 1;

	pthread_mutex_lock(&alloc_lock);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	pthread_mutex_unlock(&alloc_lock);
	return h;
}

static void *count_malloc(size_t n, const char *file, int line)
{
	struct alloc_hdr *h;

	(void)file;
	(void)line;
	h = malloc(sizeof(*h) + n);
	return h ? alloc_link(h, n) : NULL;
}

static void count_free(void *p, const char *file, int line)
{
	struct alloc_hdr *h;

	(void)file;
	(void)line;
	if (!p)
		return;
	h = alloc_unlink(p);
	if (watch_key && memmem(p, h->size, watch_key, CRYPTO_KEY_LEN))
		watch_hits++;
	free(h);
}

/* Through malloc and free, so that the old block is searched too. */
static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	struct alloc_hdr *h;
	void *q;

	if (!p)
		return count_malloc(n, file, line);
	h = (struct alloc_hdr *)p - 1;
	q = count_malloc(n, file, line);
	if (!q)
		return NULL;
	memcpy(q, p, h->size < n ? h->size : n);
	count_free(p, file, line);
	return q;
}

/* How many of the blocks libcrypto holds now contain NEEDLE. */
static size_t alloc_live_holding(const uint8_t *needle, size_t len)
{
	size_t hits = 0;

	pthread_mutex_lock(&alloc_lock);
	for (struct alloc_hdr *h = alloc_live.next; h != &alloc_live; h = h->next)
		if (memmem(h + 1, h->size, needle, len))
			hits++;
	pthread_mutex_unlock(&alloc_lock);
	return hits;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a hex string into out (at most max bytes); returns the length. */
static size_t unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t len = strlen(hex), i;

	assert_true(len % 2 == 0);
	assert_true(len / 2 <= max);
	for (i = 0; i < len / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return len / 2;
}

static void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[512];

	assert_int_equal(unhex(want, sizeof(want), hex), len);
	assert_memory_equal(got, want, len);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void seq(uint8_t *out, size_t len, uint8_t first)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = (uint8_t)(first + i);
}

/* RFC 8439 2.8.2 and draft-irtf-cfrg-xchacha-03 A.3.1 share this text. */
static const char sunscreen[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only "
	"one tip for the future, sunscreen would be it.";
#define SUNSCREEN_LEN	(sizeof(sunscreen) - 1)	/* 114 */

/* ---- BLAKE2s-256 ---- */

static void test_hash_rfc7693(void **state)
{
	uint8_t out[CRYPTO_HASH_LEN], split[CRYPTO_HASH_LEN];

	(void)state;
	/* RFC 7693 Appendix B, BLAKE2s-256("abc") */
	crypto_hash(out, "abc", 3, NULL, 0);
	assert_hex(out, sizeof(out),
		   "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* a || b is one message, wherever the split falls */
	crypto_hash(split, "a", 1, "bc", 2);
	assert_memory_equal(out, split, sizeof(out));
	crypto_hash(split, "", 0, "abc", 3);
	assert_memory_equal(out, split, sizeof(out));

	/* python3: hashlib.blake2s(b"").hexdigest() */
	crypto_hash(out, "", 0, NULL, 0);
	assert_hex(out, sizeof(out),
		   "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
}

static void test_hash_wireguard_constants(void **state)
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t ck[CRYPTO_HASH_LEN], h[CRYPTO_HASH_LEN];

	(void)state;
	/* python3: hashlib.blake2s(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s") */
	crypto_hash(ck, construction, strlen(construction), NULL, 0);
	assert_hex(ck, sizeof(ck),
		   "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	/* python3: hashlib.blake2s(ck + b"WireGuard v1 zx2c4 Jason@zx2c4.com") */
	crypto_hash(h, ck, sizeof(ck), identifier, strlen(identifier));
	assert_hex(h, sizeof(h),
		   "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
	/* out may be the input, as in h = HASH(h || x) */
	crypto_hash(ck, ck, sizeof(ck), identifier, strlen(identifier));
	assert_memory_equal(ck, h, sizeof(h));
}

/* ---- keyed BLAKE2s-128 ---- */

static void test_mac_keyed_blake2s(void **state)
{
	uint8_t key[32], msg[100], out[CRYPTO_MAC_LEN];

	(void)state;
	seq(key, sizeof(key), 0);
	seq(msg, sizeof(msg), 0);

	/* python3: hashlib.blake2s(bytes(range(100)), key=bytes(range(32)),
	 *                          digest_size=16).hexdigest() */
	assert_int_equal(crypto_mac(out, key, 32, msg, sizeof(msg)), 0);
	assert_hex(out, sizeof(out), "0b67d33f8b859c3157fbabd9e6e47ed0");

	/* python3: hashlib.blake2s(b"", key=bytes(range(16)), digest_size=16) */
	assert_int_equal(crypto_mac(out, key, 16, NULL, 0), 0);
	assert_hex(out, sizeof(out), "af4e5d3bb230e9ff9096ca6f7c501f76");

	/* python3: hashlib.blake2s(b"abc", key=b"\x01", digest_size=16) */
	key[0] = 1;
	assert_int_equal(crypto_mac(out, key, 1, "abc", 3), 0);
	assert_hex(out, sizeof(out), "3a4881fe11ada539e18e1e1b462650ca");

	/* BLAKE2s keys are 1..32 bytes; NULL must not reuse the last key */
	assert_int_equal(crypto_mac(out, key, 0, "abc", 3), -EINVAL);
	assert_int_equal(crypto_mac(out, key, 33, "abc", 3), -EINVAL);
	assert_int_equal(crypto_mac(out, NULL, 16, "abc", 3), -EINVAL);
	assert_int_equal(crypto_mac(out, key, 16, NULL, 3), -EINVAL);
}

/* ---- HMAC-BLAKE2s-256 and the KDF ---- */

static void test_hmac_blake2s(void **state)
{
	uint8_t key[100], msg[100], out[CRYPTO_HASH_LEN];

	(void)state;
	seq(key, sizeof(key), 0);
	seq(msg, sizeof(msg), 0);

	/* python3: hmac.new(bytes(range(32)), bytes(range(100)),
	 *                   hashlib.blake2s).hexdigest() */
	assert_int_equal(crypto_hmac(out, key, 32, msg, sizeof(msg)), 0);
	assert_hex(out, sizeof(out),
		   "a81c95080ba2a7c4ed1b7b4c21dec2c4fd6dc9f03ff37b6d65289dc95a7d1ef1");

	/* a key longer than the 64-byte block is hashed first;
	 * python3: hmac.new(bytes(range(100)), b"abc", hashlib.blake2s) */
	assert_int_equal(crypto_hmac(out, key, 100, "abc", 3), 0);
	assert_hex(out, sizeof(out),
		   "c1b751501db12b753069a918627b623179be55c8cc7ca5c4e14bdf32274ac656");

	/* python3: hmac.new(bytes(range(32)), b"", hashlib.blake2s) */
	assert_int_equal(crypto_hmac(out, key, 32, NULL, 0), 0);
	assert_hex(out, sizeof(out),
		   "e2641d24dfa8dd89e8cb77f1cdc77d8c006e5bebdfc4d6a3a3a6f8d5b7586fb0");

	assert_int_equal(crypto_hmac(out, NULL, 32, "abc", 3), -EINVAL);
	assert_int_equal(crypto_hmac(out, key, 0, "abc", 3), -EINVAL);
}

/*
 * Expected values: python3, with ck = hashlib.blake2s(b"Noise_IKpsk2_25519_
 * ChaChaPoly_BLAKE2s").digest() and H = hashlib.blake2s:
 *   t0 = hmac.new(ck, inp, H).digest()
 *   t1 = hmac.new(t0, b"\x01", H).digest()
 *   t2 = hmac.new(t0, t1 + b"\x02", H).digest()
 *   t3 = hmac.new(t0, t2 + b"\x03", H).digest()
 */
static void test_kdf(void **state)
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char *t_in[3] = {
		"6ff66e10ab4a55ac8144a867fcd9f8ee64d4bd6239223338cb3437cf085ab031",
		"203b22d63d63e35cebb9e40210cf8c1d7f90879428a4c766cda9ef34bb299398",
		"35a7b2fc3e4f59db341dbe588e3b75897980c463d5bbb855f8ed8134ff40133a",
	};
	static const char *t_empty[3] = {
		"bd968725a9177942a8c2e4253d1dde31cf7b19ec001b4a3a3d141cd9d998d3ba",
		"aab5462b323780fa615bf80ffe469510239ff361575a663968e686a7ae41d693",
		"ae1e06e0931da10b9971bab8e282b42307522b38c0f4492cdd1bf44298126887",
	};
	uint8_t ck[32], in[32], t1[32], t2[32], t3[32], u1[32], u2[32], c[32];

	(void)state;
	crypto_hash(ck, construction, strlen(construction), NULL, 0);
	seq(in, sizeof(in), 0);

	/* inp = bytes(range(32)) */
	assert_int_equal(crypto_kdf(t1, t2, t3, ck, in, sizeof(in)), 0);
	assert_hex(t1, 32, t_in[0]);
	assert_hex(t2, 32, t_in[1]);
	assert_hex(t3, 32, t_in[2]);

	/* inp = b"" */
	assert_int_equal(crypto_kdf(t1, t2, t3, ck, NULL, 0), 0);
	assert_hex(t1, 32, t_empty[0]);
	assert_hex(t2, 32, t_empty[1]);
	assert_hex(t3, 32, t_empty[2]);

	/* KDF1 and KDF2 are prefixes of KDF3 */
	assert_int_equal(crypto_kdf(u1, NULL, NULL, ck, in, sizeof(in)), 0);
	assert_hex(u1, 32, t_in[0]);
	assert_int_equal(crypto_kdf(u1, u2, NULL, ck, in, sizeof(in)), 0);
	assert_hex(u1, 32, t_in[0]);
	assert_hex(u2, 32, t_in[1]);

	/* ck = KDF2(ck, in) with out1 aliasing ck, as the handshake does */
	memcpy(c, ck, sizeof(c));
	assert_int_equal(crypto_kdf(c, u2, NULL, c, in, sizeof(in)), 0);
	assert_hex(c, 32, t_in[0]);
	assert_hex(u2, 32, t_in[1]);

	assert_int_equal(crypto_kdf(NULL, t2, NULL, ck, in, 32), -EINVAL);
	assert_int_equal(crypto_kdf(t1, NULL, t3, ck, in, 32), -EINVAL);
}

/* ---- X25519 ---- */

static void x25519_kat(const char *scalar, const char *u, const char *result)
{
	uint8_t k[32], p[32], out[32];

	unhex(k, sizeof(k), scalar);
	unhex(p, sizeof(p), u);
	assert_int_equal(crypto_x25519(out, k, p), 0);
	assert_hex(out, sizeof(out), result);
}

static void test_x25519_rfc7748_5_2(void **state)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32];
	int i;

	(void)state;
	/* RFC 7748 section 5.2, the two single-step vectors (the second
	 * has the top bit of u set, which must be ignored) */
	x25519_kat("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		   "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		   "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	x25519_kat("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		   "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		   "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");

	/* RFC 7748 section 5.2, iterated: k = u = 9; (k, u) = (X25519(k, u), k) */
	for (i = 1; i <= 1000; i++) {
		assert_int_equal(crypto_x25519(r, k, u), 0);
		memcpy(u, k, sizeof(u));
		memcpy(k, r, sizeof(k));
		if (i == 1)
			assert_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f"
					  "7897b87bb6854b783c60e80311ae3079");
	}
	assert_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c"
			  "1c3887c49360e3875f2eb94d99532c51");
}

static void test_x25519_rfc7748_6_1(void **state)
{
	uint8_t a[32], b[32], pa[32], pb[32], ka[32], kb[32];

	(void)state;
	/* RFC 7748 section 6.1 */
	unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	assert_int_equal(crypto_x25519_pubkey(pa, a), 0);
	assert_hex(pa, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(crypto_x25519_pubkey(pb, b), 0);
	assert_hex(pb, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(crypto_x25519(ka, a, pb), 0);
	assert_int_equal(crypto_x25519(kb, b, pa), 0);
	assert_hex(ka, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_memory_equal(ka, kb, 32);
}

static void test_x25519_low_order(void **state)
{
	/* u-coordinates of small order (0, 1, the order-8 points, p-1, and
	 * the non-canonical p, p+1): each gives an all-zero secret */
	static const char *points[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t priv[32], pub[32], out[32];
	size_t i;

	(void)state;
	assert_int_equal(crypto_x25519_genkey(priv), 0);
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		unhex(pub, sizeof(pub), points[i]);
		memset(out, 0xa5, sizeof(out));
		assert_int_equal(crypto_x25519(out, priv, pub), -EINVAL);
		assert_true(all_zero(out, sizeof(out)));
	}
}

static void test_x25519_genkey(void **state)
{
	uint8_t a[32], b[32], pa[32], pb[32], ka[32], kb[32];
	int i;

	(void)state;
	for (i = 0; i < 64; i++) {
		assert_int_equal(crypto_x25519_genkey(a), 0);
		assert_int_equal(a[0] & 7, 0);		/* multiple of the cofactor */
		assert_int_equal(a[31] & 0x80, 0);	/* bit 255 clear */
		assert_int_equal(a[31] & 0x40, 0x40);	/* bit 254 set */
	}
	assert_int_equal(crypto_x25519_genkey(b), 0);
	assert_false(crypto_equal(a, b, 32));

	/* DH(a, B) == DH(b, A) for fresh keys */
	assert_int_equal(crypto_x25519_pubkey(pa, a), 0);
	assert_int_equal(crypto_x25519_pubkey(pb, b), 0);
	assert_false(crypto_equal(pa, pb, 32));
	assert_int_equal(crypto_x25519(ka, a, pb), 0);
	assert_int_equal(crypto_x25519(kb, b, pa), 0);
	assert_memory_equal(ka, kb, 32);
	assert_false(all_zero(ka, 32));
}

/* ---- ChaCha20-Poly1305 ---- */

static int aead_setup(void **state)
{
	*state = crypto_aead_ctx_new();
	return *state ? 0 : -1;
}

static int aead_teardown(void **state)
{
	crypto_aead_ctx_free(*state);
	return 0;
}

/* RFC 8439 section 2.8.2 */
#define RFC8439_282_NONCE "070000004041424344454647"
#define RFC8439_282_AD	"50515253c0c1c2c3c4c5c6c7"
#define RFC8439_282_CT \
	"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" \
	"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" \
	"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" \
	"3ff4def08e4b7a9de576d26586cec64b6116"
#define RFC8439_282_TAG	"1ae10b594f09e26a7e902ecbd0600691"

/*
 * Seal RFC 8439 2.8.2's plaintext into sealed (ciphertext and tag checked
 * against the RFC) and open it again on the same context; key is NULL for
 * a keyed context.
 */
static void aead_rfc8439_2_8_2(struct crypto_aead_ctx *c, const uint8_t *key,
			       const uint8_t nonce[CRYPTO_NONCE_LEN], const uint8_t ad[12],
			       uint8_t sealed[SUNSCREEN_LEN + CRYPTO_TAG_LEN])
{
	uint8_t plain[SUNSCREEN_LEN];

	assert_int_equal(crypto_aead_seal96(c, sealed, key, nonce,
					    (const uint8_t *)sunscreen,
					    SUNSCREEN_LEN, ad, 12), 0);
	assert_hex(sealed, SUNSCREEN_LEN, RFC8439_282_CT);
	assert_hex(sealed + SUNSCREEN_LEN, CRYPTO_TAG_LEN, RFC8439_282_TAG);
	assert_int_equal(crypto_aead_open96(c, plain, key, nonce, sealed,
					    SUNSCREEN_LEN + CRYPTO_TAG_LEN, ad, 12), 0);
	assert_memory_equal(plain, sunscreen, SUNSCREEN_LEN);
}

static void test_aead_rfc8439_2_8_2(void **state)
{
	struct crypto_aead_ctx *c = *state;
	uint8_t key[32], nonce[CRYPTO_NONCE_LEN], ad[12];
	uint8_t sealed[SUNSCREEN_LEN + CRYPTO_TAG_LEN], bad[sizeof(sealed)];
	uint8_t plain[SUNSCREEN_LEN];
	size_t i;

	seq(key, sizeof(key), 0x80);
	unhex(nonce, sizeof(nonce), RFC8439_282_NONCE);
	unhex(ad, sizeof(ad), RFC8439_282_AD);

	aead_rfc8439_2_8_2(c, key, nonce, ad, sealed);

	/* one flipped bit anywhere in ciphertext or tag: refused, out wiped */
	for (i = 0; i < sizeof(sealed); i += 13) {
		memcpy(bad, sealed, sizeof(bad));
		bad[i] ^= 0x01;
		memset(plain, 0xa5, sizeof(plain));
		assert_int_equal(crypto_aead_open96(c, plain, key, nonce, bad,
						    sizeof(bad), ad, sizeof(ad)),
				 -EBADMSG);
		assert_true(all_zero(plain, sizeof(plain)));
	}
	/* a changed associated datum, nonce or key: refused */
	ad[0] ^= 0x80;
	assert_int_equal(crypto_aead_open96(c, plain, key, nonce, sealed,
					    sizeof(sealed), ad, sizeof(ad)), -EBADMSG);
	ad[0] ^= 0x80;
	nonce[0] ^= 1;
	assert_int_equal(crypto_aead_open96(c, plain, key, nonce, sealed,
					    sizeof(sealed), ad, sizeof(ad)), -EBADMSG);
	nonce[0] ^= 1;
	key[31] ^= 1;
	assert_int_equal(crypto_aead_open96(c, plain, key, nonce, sealed,
					    sizeof(sealed), ad, sizeof(ad)), -EBADMSG);
	key[31] ^= 1;
	/* and the context still works after all those failures */
	assert_int_equal(crypto_aead_open96(c, plain, key, nonce, sealed,
					    sizeof(sealed), ad, sizeof(ad)), 0);
	assert_memory_equal(plain, sunscreen, SUNSCREEN_LEN);
}

/*
 * RFC 8439 section A.5: nonce 00000000 0102030405060708, so it goes through
 * the counter interface with counter = le64(01..08) = 0x0807060504030201.
 */
#define RFC8439_A5_KEY \
	"1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"
#define RFC8439_A5_COUNTER	0x0807060504030201ULL
#define RFC8439_A5_AD	"f33388860000000000004e91"
#define RFC8439_A5_CT \
	"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2" \
	"4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf" \
	"332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855" \
	"9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4" \
	"b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e" \
	"af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a" \
	"0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10" \
	"49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29" \
	"a6ad5cb4022b02709b"
#define RFC8439_A5_TAG	"eead9d67890cbb22392336fea1851f38"
#define RFC8439_A5_PT \
	"496e7465726e65742d4472616674732061726520647261667420646f63756d65" \
	"6e74732076616c696420666f722061206d6178696d756d206f6620736978206d" \
	"6f6e74687320616e64206d617920626520757064617465642c207265706c6163" \
	"65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65" \
	"6e747320617420616e792074696d652e20497420697320696e617070726f7072" \
	"6961746520746f2075736520496e7465726e65742d4472616674732061732072" \
	"65666572656e6365206d6174657269616c206f7220746f206369746520746865" \
	"6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67" \
	"726573732e2fe2809d"

static void test_aead_rfc8439_a5_counter(void **state)
{
	struct crypto_aead_ctx *c = *state;
	uint8_t key[32], ad[12], pt[300], buf[300 + CRYPTO_TAG_LEN];
	size_t ptlen, ctlen;

	unhex(key, sizeof(key), RFC8439_A5_KEY);
	unhex(ad, sizeof(ad), RFC8439_A5_AD);
	ptlen = unhex(pt, sizeof(pt), RFC8439_A5_PT);
	ctlen = unhex(buf, sizeof(buf), RFC8439_A5_CT);
	assert_int_equal(ptlen, ctlen);
	assert_int_equal(unhex(buf + ctlen, CRYPTO_TAG_LEN, RFC8439_A5_TAG),
			 CRYPTO_TAG_LEN);

	/* open in place: the tag must survive the ciphertext being overwritten */
	assert_int_equal(crypto_aead_open(c, buf, key, RFC8439_A5_COUNTER, buf,
					  ctlen + CRYPTO_TAG_LEN, ad, sizeof(ad)), 0);
	assert_memory_equal(buf, pt, ptlen);

	/* seal in place gives back the vector's ciphertext and tag */
	assert_int_equal(crypto_aead_seal(c, buf, key, RFC8439_A5_COUNTER, buf,
					  ptlen, ad, sizeof(ad)), 0);
	assert_hex(buf, ctlen, RFC8439_A5_CT);
	assert_hex(buf + ctlen, CRYPTO_TAG_LEN, RFC8439_A5_TAG);

	/* the counter is part of the nonce: a neighbour's does not open it */
	assert_int_equal(crypto_aead_open(c, pt, key, RFC8439_A5_COUNTER + 1, buf,
					  ctlen + CRYPTO_TAG_LEN, ad, sizeof(ad)),
			 -EBADMSG);
	assert_true(all_zero(pt, ptlen));

	/* in-place open of a tampered packet leaves zeros, not plaintext */
	buf[ctlen + CRYPTO_TAG_LEN - 1] ^= 0x40;
	assert_int_equal(crypto_aead_open(c, buf, key, RFC8439_A5_COUNTER, buf,
					  ctlen + CRYPTO_TAG_LEN, ad, sizeof(ad)),
			 -EBADMSG);
	assert_true(all_zero(buf, ctlen));
}

static void test_aead_edges(void **state)
{
	struct crypto_aead_ctx *c = *state;
	uint8_t k1[32], k2[32], tag[CRYPTO_TAG_LEN], out[64 + CRYPTO_TAG_LEN];
	uint8_t out2[sizeof(out)], pt[64];

	seq(k1, sizeof(k1), 1);
	seq(k2, sizeof(k2), 2);
	seq(pt, sizeof(pt), 0x30);

	/* a keepalive: empty payload, no associated data, just a tag */
	assert_int_equal(crypto_aead_seal(c, tag, k1, 0, NULL, 0, NULL, 0), 0);
	assert_false(all_zero(tag, sizeof(tag)));
	assert_int_equal(crypto_aead_open(c, NULL, k1, 0, tag, sizeof(tag), NULL, 0), 0);
	assert_int_equal(crypto_aead_open(c, NULL, k1, 1, tag, sizeof(tag), NULL, 0),
			 -EBADMSG);

	/* shorter than a tag: refused without reading past the input */
	assert_int_equal(crypto_aead_open(c, out, k1, 0, tag, CRYPTO_TAG_LEN - 1,
					  NULL, 0), -EBADMSG);
	assert_int_equal(crypto_aead_open(c, out, k1, 0, tag, 0, NULL, 0), -EBADMSG);

	/* one context, keys alternating per call: each packet opens only
	 * under its own key */
	assert_int_equal(crypto_aead_seal(c, out, k1, 7, pt, sizeof(pt), NULL, 0), 0);
	assert_int_equal(crypto_aead_seal(c, out2, k2, 7, pt, sizeof(pt), NULL, 0), 0);
	assert_memory_not_equal(out, out2, sizeof(out));
	assert_int_equal(crypto_aead_open(c, out2, k1, 7, out2, sizeof(out2), NULL, 0),
			 -EBADMSG);
	assert_int_equal(crypto_aead_open(c, out, k1, 7, out, sizeof(out), NULL, 0), 0);
	assert_memory_equal(out, pt, sizeof(pt));
}

/*
 * A keyed context (key set once, only the nonce per call) gives the RFC 8439
 * vectors of 2.8.2 (96-bit nonce, AD) and A.5 (counter interface).
 */
static void test_aead_keyed_rfc8439(void **state)
{
	struct crypto_aead_ctx *c, *a5;
	uint8_t key[32], nonce[CRYPTO_NONCE_LEN], ad[12], ad5[12];
	uint8_t sealed[SUNSCREEN_LEN + CRYPTO_TAG_LEN], bad[sizeof(sealed)];
	uint8_t plain[SUNSCREEN_LEN], pt[300], buf[300 + CRYPTO_TAG_LEN];
	size_t i, ptlen, ctlen;

	(void)state;
	seq(key, sizeof(key), 0x80);
	unhex(nonce, sizeof(nonce), RFC8439_282_NONCE);
	unhex(ad, sizeof(ad), RFC8439_282_AD);
	c = crypto_aead_ctx_new_keyed(key);
	assert_non_null(c);
	/* the context keeps its own copy: ours may go */
	crypto_wipe(key, sizeof(key));

	/* the same context opens too (a context is not tied to a direction) */
	aead_rfc8439_2_8_2(c, NULL, nonce, ad, sealed);
	for (i = 0; i < sizeof(sealed); i += 7) {
		memcpy(bad, sealed, sizeof(bad));
		bad[i] ^= 0x10;
		memset(plain, 0xa5, sizeof(plain));
		assert_int_equal(crypto_aead_open96(c, plain, NULL, nonce, bad,
						    sizeof(bad), ad, sizeof(ad)),
				 -EBADMSG);
		assert_true(all_zero(plain, sizeof(plain)));
		/* and the very next call on the context succeeds */
		assert_int_equal(crypto_aead_open96(c, plain, NULL, nonce, sealed,
						    sizeof(sealed), ad, sizeof(ad)), 0);
		assert_memory_equal(plain, sunscreen, SUNSCREEN_LEN);
	}
	crypto_aead_ctx_free(c);

	unhex(key, sizeof(key), RFC8439_A5_KEY);
	unhex(ad5, sizeof(ad5), RFC8439_A5_AD);
	ptlen = unhex(pt, sizeof(pt), RFC8439_A5_PT);
	ctlen = unhex(buf, sizeof(buf), RFC8439_A5_CT);
	assert_int_equal(ptlen, ctlen);
	unhex(buf + ctlen, CRYPTO_TAG_LEN, RFC8439_A5_TAG);
	a5 = crypto_aead_ctx_new_keyed(key);
	assert_non_null(a5);
	assert_int_equal(crypto_aead_open(a5, buf, NULL, RFC8439_A5_COUNTER, buf,
					  ctlen + CRYPTO_TAG_LEN, ad5, sizeof(ad5)), 0);
	assert_memory_equal(buf, pt, ptlen);
	assert_int_equal(crypto_aead_seal(a5, buf, NULL, RFC8439_A5_COUNTER, buf,
					  ptlen, ad5, sizeof(ad5)), 0);
	assert_hex(buf, ctlen, RFC8439_A5_CT);
	assert_hex(buf + ctlen, CRYPTO_TAG_LEN, RFC8439_A5_TAG);
	crypto_aead_ctx_free(a5);
}

/* A key where the context wants none, and none where it wants one. */
static void test_aead_keyed_misuse(void **state)
{
	struct crypto_aead_ctx *plain = *state, *keyed;
	uint8_t key[32], buf[16 + CRYPTO_TAG_LEN] = { 0 };

	seq(key, sizeof(key), 3);
	keyed = crypto_aead_ctx_new_keyed(key);
	assert_non_null(keyed);
	assert_int_equal(crypto_aead_seal(keyed, buf, key, 0, buf, 16, NULL, 0),
			 -EINVAL);
	assert_int_equal(crypto_aead_open(keyed, buf, key, 0, buf, sizeof(buf),
					  NULL, 0), -EINVAL);
	assert_int_equal(crypto_aead_seal(plain, buf, NULL, 0, buf, 16, NULL, 0),
			 -EINVAL);
	assert_int_equal(crypto_aead_open(plain, buf, NULL, 0, buf, sizeof(buf),
					  NULL, 0), -EINVAL);
	/* both still work the right way afterwards */
	assert_int_equal(crypto_aead_seal(keyed, buf, NULL, 0, buf, 16, NULL, 0), 0);
	assert_int_equal(crypto_aead_open(plain, buf, key, 0, buf, sizeof(buf),
					  NULL, 0), 0);
	crypto_aead_ctx_free(keyed);

	errno = 0;
	assert_null(crypto_aead_ctx_new_keyed(NULL));
	assert_int_equal(errno, EINVAL);
	crypto_aead_ctx_free(NULL);
}

/* xorshift64: deterministic sizes, choices and bytes for the long test */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define MANY_MAX	1500
#define MANY_ROUNDS	3000

/*
 * Many packets through long-lived keyed contexts, as the transport path
 * uses them: two sessions (send and receive context each) interleaved in a
 * random order, random sizes from 0 (keepalive) to 1500 bytes with the
 * sizes that straddle ChaCha20 blocks and Poly1305 blocks included, and
 * AD on some. Every sealed packet must be byte for byte what the one-shot
 * API (key per call) makes; it must open in place under its own session's
 * receive context and not under the other's; and every few packets a
 * tampered byte (tag or ciphertext) must be refused with the output zeroed,
 * after which the next packet on that same context must still work.
 */
static void test_aead_keyed_many(void **state)
{
	static const size_t edge[] = { 0, 1, 15, 16, 17, 63, 64, 65, 127, 128,
				       129, 255, 256, 257, 511, 512, 513, 1420 };
	struct crypto_aead_ctx *oneshot = *state, *tx[2], *rx[2];
	uint8_t key[2][32], pt[MANY_MAX], ad[32], want[MANY_MAX + CRYPTO_TAG_LEN];
	uint8_t got[MANY_MAX + CRYPTO_TAG_LEN], bad[sizeof(got)];
	uint64_t rng = 0x9e3779b97f4a7c15ULL, counter[2] = { 0, 1000000 };
	unsigned int round, tampered = 0, j;
	size_t len, adlen, i;

	for (j = 0; j < 2; j++) {
		seq(key[j], sizeof(key[j]), (uint8_t)(0x40 + 0x40 * j));
		tx[j] = crypto_aead_ctx_new_keyed(key[j]);
		rx[j] = crypto_aead_ctx_new_keyed(key[j]);
		assert_non_null(tx[j]);
		assert_non_null(rx[j]);
	}
	for (round = 0; round < MANY_ROUNDS; round++) {
		uint64_t r = rng_next(&rng);
		uint64_t n;

		j = (unsigned int)(r & 1);
		n = counter[j]++;
		if (round < 2 * sizeof(edge) / sizeof(edge[0]))
			len = edge[round / 2];
		else
			len = (size_t)((r >> 8) % (MANY_MAX + 1));
		adlen = (r >> 24) % 4 == 0 ? (size_t)((r >> 32) % sizeof(ad)) : 0;
		for (i = 0; i < len; i++)
			pt[i] = (uint8_t)rng_next(&rng);
		for (i = 0; i < adlen; i++)
			ad[i] = (uint8_t)(r >> (i % 8));

		assert_int_equal(crypto_aead_seal(oneshot, want, key[j], n, pt, len,
						  ad, adlen), 0);
		memcpy(got, pt, len);
		assert_int_equal(crypto_aead_seal(tx[j], got, NULL, n, got, len,
						  ad, adlen), 0);
		assert_memory_equal(got, want, len + CRYPTO_TAG_LEN);

		/* the other session's receive context: refused, nothing left */
		memcpy(bad, got, len + CRYPTO_TAG_LEN);
		assert_int_equal(crypto_aead_open(rx[j ^ 1], bad, NULL, n, bad,
						  len + CRYPTO_TAG_LEN, ad, adlen),
				 -EBADMSG);
		assert_true(all_zero(bad, len));

		if (round % 5 == 0) {
			/* one flipped bit in tag or ciphertext */
			memcpy(bad, got, len + CRYPTO_TAG_LEN);
			bad[(size_t)(r >> 40) % (len + CRYPTO_TAG_LEN)] ^=
				(uint8_t)(1u << ((r >> 56) & 7));
			assert_int_equal(crypto_aead_open(rx[j], bad, NULL, n, bad,
							  len + CRYPTO_TAG_LEN,
							  ad, adlen), -EBADMSG);
			assert_true(all_zero(bad, len));
			tampered++;
		}
		/* the genuine packet opens in place right after */
		assert_int_equal(crypto_aead_open(rx[j], got, NULL, n, got,
						  len + CRYPTO_TAG_LEN, ad, adlen), 0);
		assert_memory_equal(got, pt, len);
		/* and the one-shot API agrees on the opening */
		assert_int_equal(crypto_aead_open(oneshot, want, key[j], n, want,
						  len + CRYPTO_TAG_LEN, ad, adlen), 0);
		assert_memory_equal(want, pt, len);
	}
	assert_int_equal(tampered, (MANY_ROUNDS + 4) / 5);
	for (j = 0; j < 2; j++) {
		crypto_aead_ctx_free(tx[j]);
		crypto_aead_ctx_free(rx[j]);
	}
}

/*
 * Freeing a keyed context erases its key: no block libcrypto frees, the
 * provider context included, still holds the key bytes (ChaCha20 keeps the
 * key as little-endian words, the same bytes on this machine). The watch
 * is shown to work first on a block that does hold the key.
 */
static void test_aead_keyed_erasure(void **state)
{
	struct crypto_aead_ctx *c;
	uint8_t key[32], buf[64 + CRYPTO_TAG_LEN] = { 0 };
	void *probe;
	int i;

	(void)state;
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(0xd1 ^ (i * 29));
	watch_key = key;

	watch_hits = 0;
	probe = OPENSSL_malloc(100);
	assert_non_null(probe);
	memcpy((uint8_t *)probe + 40, key, sizeof(key));
	OPENSSL_free(probe);
	assert_int_equal(watch_hits, 1);

	watch_hits = 0;
	c = crypto_aead_ctx_new_keyed(key);
	assert_non_null(c);
	assert_int_equal(crypto_aead_seal(c, buf, NULL, 1, buf, 64, NULL, 0), 0);
	assert_int_equal(crypto_aead_open(c, buf, NULL, 1, buf, sizeof(buf),
					  NULL, 0), 0);
	crypto_aead_ctx_free(c);
	assert_int_equal(watch_hits, 0);
	watch_key = NULL;
}

/* How many blocks libcrypto holds contain KEY, or KEY XOR HMAC's inner or outer pad. */
static size_t live_hmac_key_traces(const uint8_t key[32])
{
	static const uint8_t pads[3] = { 0x00, 0x36, 0x5c };
	uint8_t x[32];
	size_t hits = 0;

	for (int p = 0; p < 3; p++) {
		for (int i = 0; i < 32; i++)
			x[i] = key[i] ^ pads[p];
		hits += alloc_live_holding(x, sizeof(x));
	}
	return hits;
}

/*
 * The per-thread HMAC context lives as long as its thread. Once a KDF has
 * returned, it holds neither the chaining key nor T0 (the HMAC key from
 * which every output follows): not the key bytes, nor the key XORed with
 * the inner or outer pad, which a digest context buffers as its first
 * block. Nor is a freed block left holding T0.
 */
static void test_kdf_forgets_key(void **state)
{
	uint8_t ck[32], in[32], t0[32], t1[32], t2[32], t3[32], key[32];
	struct crypto_aead_ctx *c;

	(void)state;
	for (int i = 0; i < 32; i++) {
		ck[i] = (uint8_t)(0xa7 ^ (i * 37));
		in[i] = (uint8_t)(0x3c + i * 11);
		key[i] = (uint8_t)(0x91 ^ (i * 13));
	}

	/* the search finds a key that libcrypto does hold */
	c = crypto_aead_ctx_new_keyed(key);
	assert_non_null(c);
	assert_true(alloc_live_holding(key, sizeof(key)) > 0);
	crypto_aead_ctx_free(c);
	assert_int_equal(alloc_live_holding(key, sizeof(key)), 0);

	/* crypto_hmac() forgets its key too */
	assert_int_equal(crypto_hmac(t0, ck, sizeof(ck), in, sizeof(in)), 0);
	assert_int_equal(live_hmac_key_traces(ck), 0);

	watch_key = t0;
	watch_hits = 0;
	for (int n = 1; n <= 3; n++) {
		assert_int_equal(crypto_kdf(t1, n > 1 ? t2 : NULL, n > 2 ? t3 : NULL, ck,
					    in, sizeof(in)), 0);
		assert_int_equal(live_hmac_key_traces(t0), 0);
		assert_int_equal(live_hmac_key_traces(ck), 0);
	}
	/* ck = KDF1(ck, x), in place, as the handshake does */
	assert_int_equal(crypto_kdf(ck, NULL, NULL, ck, in, sizeof(in)), 0);
	assert_int_equal(live_hmac_key_traces(t0), 0);
	assert_int_equal(watch_hits, 0);
	watch_key = NULL;
}

/* ---- HChaCha20 and XChaCha20-Poly1305 ---- */

static void test_hchacha20_draft(void **state)
{
	uint8_t key[32], nonce[16], out[32];

	(void)state;
	/* draft-irtf-cfrg-xchacha-03 section 2.2.1 */
	seq(key, sizeof(key), 0);
	unhex(nonce, sizeof(nonce), "000000090000004a0000000031415927");
	assert_int_equal(crypto_hchacha20(out, key, nonce), 0);
	assert_hex(out, sizeof(out),
		   "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
}

/* draft-irtf-cfrg-xchacha-03 section A.3.1 */
#define XCHACHA_AD	"50515253c0c1c2c3c4c5c6c7"
#define XCHACHA_CT \
	"bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb" \
	"731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" \
	"2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9" \
	"21f9664c97637da9768812f615c68b13b52e"
#define XCHACHA_TAG	"c0875924c1c7987947deafd8780acf49"

static void test_xaead_draft(void **state)
{
	uint8_t key[32], nonce[CRYPTO_XNONCE_LEN], ad[12];
	uint8_t buf[SUNSCREEN_LEN + CRYPTO_TAG_LEN], sealed[sizeof(buf)];

	(void)state;
	seq(key, sizeof(key), 0x80);
	seq(nonce, sizeof(nonce), 0x40);
	unhex(ad, sizeof(ad), XCHACHA_AD);

	assert_int_equal(crypto_xaead_seal(sealed, key, nonce,
					   (const uint8_t *)sunscreen,
					   SUNSCREEN_LEN, ad, sizeof(ad)), 0);
	assert_hex(sealed, SUNSCREEN_LEN, XCHACHA_CT);
	assert_hex(sealed + SUNSCREEN_LEN, CRYPTO_TAG_LEN, XCHACHA_TAG);

	/* in place both ways */
	memcpy(buf, sealed, sizeof(buf));
	assert_int_equal(crypto_xaead_open(buf, key, nonce, buf, sizeof(buf),
					   ad, sizeof(ad)), 0);
	assert_memory_equal(buf, sunscreen, SUNSCREEN_LEN);
	assert_int_equal(crypto_xaead_seal(buf, key, nonce, buf, SUNSCREEN_LEN,
					   ad, sizeof(ad)), 0);
	assert_memory_equal(buf, sealed, sizeof(sealed));

	/* the first 16 nonce bytes feed HChaCha20, the last 8 the inner nonce:
	 * a change in either part must be caught */
	nonce[3] ^= 1;
	assert_int_equal(crypto_xaead_open(buf, key, nonce, sealed, sizeof(sealed),
					   ad, sizeof(ad)), -EBADMSG);
	assert_true(all_zero(buf, SUNSCREEN_LEN));
	nonce[3] ^= 1;
	nonce[20] ^= 1;
	assert_int_equal(crypto_xaead_open(buf, key, nonce, sealed, sizeof(sealed),
					   ad, sizeof(ad)), -EBADMSG);
	nonce[20] ^= 1;
	sealed[5] ^= 0x10;
	assert_int_equal(crypto_xaead_open(buf, key, nonce, sealed, sizeof(sealed),
					   ad, sizeof(ad)), -EBADMSG);
	assert_true(all_zero(buf, SUNSCREEN_LEN));
}

/* ---- helpers ---- */

static void test_random_wipe_equal(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	assert_int_equal(crypto_random(a, sizeof(a)), 0);
	assert_int_equal(crypto_random(b, sizeof(b)), 0);
	assert_false(all_zero(a, sizeof(a)));
	assert_false(crypto_equal(a, b, sizeof(a)));

	memcpy(b, a, sizeof(b));
	assert_true(crypto_equal(a, b, sizeof(a)));
	b[31] ^= 0x80;
	assert_false(crypto_equal(a, b, sizeof(a)));
	assert_true(crypto_equal(a, b, 31));
	assert_true(crypto_equal(a, b, 0));

	crypto_wipe(a, sizeof(a));
	assert_true(all_zero(a, sizeof(a)));
}

/*
 * After the first call has created the contexts, the per-packet path (AEAD,
 * including failed opens) and everything that runs before a handshake
 * message is authenticated (mac1/mac2 checks = keyed BLAKE2s, cookie replies
 * = XChaCha20-Poly1305) must not allocate: libcrypto's allocator is counted.
 * BLAKE2s-256 and HMAC are left out on purpose: OpenSSL 3.0 builds a new
 * provider context on every digest init, which no public interface avoids.
 */
static void test_no_allocation(void **state)
{
	struct crypto_aead_ctx *c = *state, *tx, *rx;
	uint8_t key[32], buf[1420 + CRYPTO_TAG_LEN], h[32], m[16], x[64];
	uint8_t nonce[CRYPTO_XNONCE_LEN] = { 0 };
	size_t before;
	uint64_t i;

	seq(key, sizeof(key), 9);
	memset(buf, 0x5a, sizeof(buf));
	memset(h, 0x33, sizeof(h));
	/* warm up every path once */
	assert_int_equal(crypto_mac(m, key, 32, buf, 116), 0);
	assert_int_equal(crypto_xaead_seal(x, key, nonce, h, 32, buf, 16), 0);
	assert_int_equal(crypto_aead_seal(c, buf, key, 0, buf, 1420, NULL, 0), 0);
	assert_int_equal(crypto_aead_open(c, buf, key, 0, buf, sizeof(buf), NULL, 0), 0);

	before = alloc_count;
	for (i = 1; i < 100; i++) {
		assert_int_equal(crypto_aead_seal(c, buf, key, i, buf, 1420, NULL, 0), 0);
		assert_int_equal(crypto_aead_open(c, buf, key, i, buf, sizeof(buf),
						  NULL, 0), 0);
		buf[0] ^= 1;
		assert_int_equal(crypto_aead_open(c, buf, key, i, buf, sizeof(buf),
						  NULL, 0), -EBADMSG);
		memset(buf, 0x5a, sizeof(buf));
	}
	assert_int_equal(alloc_count - before, 0);

	/* keyed contexts (the transport path): only creation allocates */
	tx = crypto_aead_ctx_new_keyed(key);
	rx = crypto_aead_ctx_new_keyed(key);
	assert_non_null(tx);
	assert_non_null(rx);
	before = alloc_count;
	for (i = 1; i < 100; i++) {
		assert_int_equal(crypto_aead_seal(tx, buf, NULL, i, buf, 1420, NULL, 0), 0);
		assert_int_equal(crypto_aead_open(rx, buf, NULL, i, buf, sizeof(buf),
						  NULL, 0), 0);
		buf[0] ^= 1;
		assert_int_equal(crypto_aead_open(rx, buf, NULL, i, buf, sizeof(buf),
						  NULL, 0), -EBADMSG);
		memset(buf, 0x5a, sizeof(buf));
	}
	assert_int_equal(alloc_count - before, 0);
	crypto_aead_ctx_free(tx);
	crypto_aead_ctx_free(rx);

	before = alloc_count;
	for (i = 0; i < 100; i++) {
		key[0] = (uint8_t)i;
		assert_int_equal(crypto_mac(m, key, 32, buf, 116), 0);
		assert_int_equal(crypto_hchacha20(x, key, nonce), 0);
		assert_int_equal(crypto_xaead_seal(x, key, nonce, h, 32, buf, 16), 0);
		assert_int_equal(crypto_xaead_open(h, key, nonce, x, 48, buf, 16), 0);
	}
	assert_int_equal(alloc_count - before, 0);
}

/* A second thread gets its own contexts and the same answers. */
static void *thread_body(void *arg)
{
	uint8_t *out = arg, key[32] = { 1 }, nonce[CRYPTO_XNONCE_LEN] = { 2 };

	crypto_hash(out, "abc", 3, NULL, 0);
	if (crypto_mac(out + 32, key, 32, "abc", 3) < 0 ||
	    crypto_xaead_seal(out + 48, key, nonce, (const uint8_t *)"abc", 3,
			      NULL, 0) < 0)
		memset(out, 0, 67);
	return NULL;
}

static void test_threads(void **state)
{
	uint8_t mine[67], theirs[2][67];
	pthread_t t[2];
	int i;

	(void)state;
	thread_body(mine);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_body, theirs[i]), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_memory_equal(mine, theirs[i], sizeof(mine));
	}
	assert_hex(mine, 32,
		   "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_rfc7693),
		cmocka_unit_test(test_hash_wireguard_constants),
		cmocka_unit_test(test_mac_keyed_blake2s),
		cmocka_unit_test(test_hmac_blake2s),
		cmocka_unit_test(test_kdf),
		cmocka_unit_test(test_kdf_forgets_key),
		cmocka_unit_test(test_x25519_rfc7748_5_2),
		cmocka_unit_test(test_x25519_rfc7748_6_1),
		cmocka_unit_test(test_x25519_low_order),
		cmocka_unit_test(test_x25519_genkey),
		cmocka_unit_test_setup_teardown(test_aead_rfc8439_2_8_2,
						aead_setup, aead_teardown),
		cmocka_unit_test_setup_teardown(test_aead_rfc8439_a5_counter,
						aead_setup, aead_teardown),
		cmocka_unit_test_setup_teardown(test_aead_edges,
						aead_setup, aead_teardown),
		cmocka_unit_test(test_aead_keyed_rfc8439),
		cmocka_unit_test_setup_teardown(test_aead_keyed_misuse,
						aead_setup, aead_teardown),
		cmocka_unit_test_setup_teardown(test_aead_keyed_many,
						aead_setup, aead_teardown),
		cmocka_unit_test(test_aead_keyed_erasure),
		cmocka_unit_test(test_hchacha20_draft),
		cmocka_unit_test(test_xaead_draft),
		cmocka_unit_test(test_random_wipe_equal),
		cmocka_unit_test_setup_teardown(test_no_allocation,
						aead_setup, aead_teardown),
		cmocka_unit_test(test_threads),
	};

	/* must precede libcrypto's first allocation */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free))
		return 1;
	if (crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
