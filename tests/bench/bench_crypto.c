/* bench_crypto.c - ChaCha20-Poly1305 seal/open throughput: OpenSSL (ours and raw EVP) vs libsodium */

/*
 * One thread, CLOCK_MONOTONIC, each case run for the requested time (1 s by
 * default; argv[1] overrides) in five slices interleaved with the other
 * implementations' slices; the median slice is reported.  The packets
 * are what the transport path sees: no associated data, a fresh
 * counter-derived nonce per sealed packet, and the same key on every call
 * (re-supplied each time, as the daemon does with its per-worker context).
 * Before timing, every implementation's output is checked against
 * libsodium's for the same input, so the numbers compare equal work.
 *
 * Rows:
 *   libsodium   crypto_aead_chacha20poly1305_ietf_{encrypt,decrypt} (baseline)
 *   gangway     crypto_aead_{seal,open}: OpenSSL through our wrapper
 *   evp         the same EVP calls written inline (wrapper overhead)
 *   evp-keyonce EVP with the key set once and only the nonce per packet
 *               (what re-keying on every call costs)
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
/* not <sodium.h>: its crypto_hash() (SHA-512) has the name of ours */
#include <sodium/core.h>
#include <sodium/crypto_aead_chacha20poly1305.h>
#include <sodium/randombytes.h>
#include <sodium/version.h>

#include "crypto.h"

#define BENCH_MAX	1420
#define BENCH_NCASES	4
#define BENCH_SLICES	5

struct bench {
	uint8_t key[CRYPTO_KEY_LEN];
	uint8_t plain[BENCH_MAX];
	uint8_t sealed[BENCH_MAX + CRYPTO_TAG_LEN];	/* open's input */
	uint8_t out[BENCH_MAX + CRYPTO_TAG_LEN];
	uint64_t sealed_counter;
	struct crypto_aead_ctx *ctx;
	EVP_CIPHER_CTX *evp;		/* key per packet */
	EVP_CIPHER_CTX *evp_enc;	/* key set once, encrypt */
	EVP_CIPHER_CTX *evp_dec;	/* key set once, decrypt */
};

typedef int (*bench_fn)(struct bench *b, size_t size, uint64_t counter);

static void bench_nonce(uint8_t nonce[CRYPTO_NONCE_LEN], uint64_t counter)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static int sodium_seal(struct bench *b, size_t size, uint64_t counter)
{
	uint8_t nonce[CRYPTO_NONCE_LEN];
	unsigned long long clen;

	bench_nonce(nonce, counter);
	return crypto_aead_chacha20poly1305_ietf_encrypt(b->out, &clen, b->plain,
							 size, NULL, 0, NULL,
							 nonce, b->key);
}

static int sodium_open(struct bench *b, size_t size, uint64_t counter)
{
	uint8_t nonce[CRYPTO_NONCE_LEN];
	unsigned long long mlen;

	(void)counter;
	bench_nonce(nonce, b->sealed_counter);
	return crypto_aead_chacha20poly1305_ietf_decrypt(b->out, &mlen, NULL,
							 b->sealed,
							 size + CRYPTO_TAG_LEN,
							 NULL, 0, nonce, b->key);
}

static int gangway_seal(struct bench *b, size_t size, uint64_t counter)
{
	return crypto_aead_seal(b->ctx, b->out, b->key, counter, b->plain, size,
				NULL, 0);
}

static int gangway_open(struct bench *b, size_t size, uint64_t counter)
{
	(void)counter;
	return crypto_aead_open(b->ctx, b->out, b->key, b->sealed_counter,
				b->sealed, size + CRYPTO_TAG_LEN, NULL, 0);
}

/* key == NULL keeps the key already in the context */
static int evp_seal_with(EVP_CIPHER_CTX *evp, struct bench *b, const uint8_t *key,
			 size_t size, uint64_t counter)
{
	uint8_t nonce[CRYPTO_NONCE_LEN], tail[64];
	int n;

	bench_nonce(nonce, counter);
	if (EVP_CipherInit_ex(evp, NULL, NULL, key, nonce, 1) != 1 ||
	    EVP_CipherUpdate(evp, b->out, &n, b->plain, (int)size) != 1 ||
	    EVP_CipherFinal_ex(evp, tail, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_GET_TAG, CRYPTO_TAG_LEN,
				b->out + size) != 1)
		return -1;
	return 0;
}

static int evp_open_with(EVP_CIPHER_CTX *evp, struct bench *b, const uint8_t *key,
			 size_t size)
{
	uint8_t nonce[CRYPTO_NONCE_LEN], tail[64];
	int n;

	bench_nonce(nonce, b->sealed_counter);
	if (EVP_CipherInit_ex(evp, NULL, NULL, key, nonce, 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_SET_TAG, CRYPTO_TAG_LEN,
				b->sealed + size) != 1 ||
	    EVP_CipherUpdate(evp, b->out, &n, b->sealed, (int)size) != 1 ||
	    EVP_CipherFinal_ex(evp, tail, &n) != 1)
		return -1;
	return 0;
}

static int evp_seal(struct bench *b, size_t size, uint64_t counter)
{
	return evp_seal_with(b->evp, b, b->key, size, counter);
}

static int evp_open(struct bench *b, size_t size, uint64_t counter)
{
	(void)counter;
	return evp_open_with(b->evp, b, b->key, size);
}

static int evp_keyonce_seal(struct bench *b, size_t size, uint64_t counter)
{
	return evp_seal_with(b->evp_enc, b, NULL, size, counter);
}

static int evp_keyonce_open(struct bench *b, size_t size, uint64_t counter)
{
	(void)counter;
	return evp_open_with(b->evp_dec, b, NULL, size);
}

static const struct bench_impl {
	const char *name;
	bench_fn seal, open;
} bench_impls[BENCH_NCASES] = {
	{ "libsodium", sodium_seal, sodium_open },	/* baseline: first */
	{ "gangway", gangway_seal, gangway_open },
	{ "evp", evp_seal, evp_open },
	{ "evp-keyonce", evp_keyonce_seal, evp_keyonce_open },
};

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Packets per second of fn over about `seconds`. */
static double bench_slice(struct bench *b, bench_fn fn, size_t size, double seconds)
{
	uint64_t done = 0, batch = 256, i;
	double start = bench_now(), elapsed;

	do {
		for (i = 0; i < batch; i++) {
			if (fn(b, size, done + i) != 0) {
				fprintf(stderr, "bench_crypto: operation failed\n");
				exit(1);
			}
		}
		done += batch;
		elapsed = bench_now() - start;
		if (elapsed < seconds / 10)
			batch *= 2;
	} while (elapsed < seconds);
	return (double)done / elapsed;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), bench_cmp);
	return v[n / 2];
}

/* Every implementation must produce libsodium's bytes and open them. */
static int bench_check(struct bench *b, size_t size)
{
	uint8_t want[BENCH_MAX + CRYPTO_TAG_LEN];
	int i;

	if (sodium_seal(b, size, 42) != 0)
		return -1;
	memcpy(want, b->out, size + CRYPTO_TAG_LEN);
	memcpy(b->sealed, want, size + CRYPTO_TAG_LEN);
	b->sealed_counter = 42;
	for (i = 0; i < BENCH_NCASES; i++) {
		memset(b->out, 0, sizeof(b->out));
		if (bench_impls[i].seal(b, size, 42) != 0 ||
		    memcmp(b->out, want, size + CRYPTO_TAG_LEN) != 0)
			return -1;
		memset(b->out, 0, sizeof(b->out));
		if (bench_impls[i].open(b, size, 0) != 0 ||
		    memcmp(b->out, b->plain, size) != 0)
			return -1;
	}
	return 0;
}

static int bench_setup(struct bench *b)
{
	EVP_CIPHER *cipher;
	int ok;

	randombytes_buf(b->key, sizeof(b->key));
	randombytes_buf(b->plain, sizeof(b->plain));
	b->ctx = crypto_aead_ctx_new();
	cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	b->evp = EVP_CIPHER_CTX_new();
	b->evp_enc = EVP_CIPHER_CTX_new();
	b->evp_dec = EVP_CIPHER_CTX_new();
	ok = b->ctx && cipher && b->evp && b->evp_enc && b->evp_dec &&
	     EVP_CipherInit_ex(b->evp, cipher, NULL, NULL, NULL, 1) == 1 &&
	     EVP_CipherInit_ex(b->evp_enc, cipher, NULL, b->key, NULL, 1) == 1 &&
	     EVP_CipherInit_ex(b->evp_dec, cipher, NULL, b->key, NULL, 0) == 1;
	EVP_CIPHER_free(cipher);
	return ok ? 0 : -1;
}

static void bench_teardown(struct bench *b)
{
	crypto_aead_ctx_free(b->ctx);
	EVP_CIPHER_CTX_free(b->evp);
	EVP_CIPHER_CTX_free(b->evp_enc);
	EVP_CIPHER_CTX_free(b->evp_dec);
	crypto_wipe(b->key, sizeof(b->key));
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, BENCH_MAX };
	static struct bench b;
	double seconds = 1.0, base = 0;
	struct utsname u;
	size_t s;
	int op, i;

	if (argc > 1) {
		seconds = strtod(argv[1], NULL);
		if (!(seconds > 0)) {
			fprintf(stderr, "usage: %s [seconds per case]\n", argv[0]);
			return 2;
		}
	}
	if (sodium_init() < 0 || crypto_init() < 0 || bench_setup(&b) < 0) {
		fprintf(stderr, "bench_crypto: setup failed\n");
		return 1;
	}
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		if (bench_check(&b, sizes[s]) < 0) {
			fprintf(stderr, "bench_crypto: implementations disagree at %zu bytes\n",
				sizes[s]);
			return 1;
		}
	}

	if (uname(&u) < 0)
		strcpy(u.machine, "?");
	printf("# %s, libsodium %s, %s, 1 thread, %.1f s per case (median of %d)\n",
	       OpenSSL_version(OPENSSL_VERSION), sodium_version_string(),
	       u.machine, seconds, BENCH_SLICES);
	printf("# Gbit/s counts payload bytes (the 16-byte tag excluded)\n");
	printf("%-12s %-5s %5s %12s %8s %13s\n", "library", "op", "size",
	       "packets/s", "Gbit/s", "vs libsodium");

	for (op = 0; op < 2; op++) {
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			double pps[BENCH_NCASES][BENCH_SLICES];
			int k;

			/* the packet every open decrypts */
			b.sealed_counter = 7;
			if (crypto_aead_seal(b.ctx, b.sealed, b.key, b.sealed_counter,
					     b.plain, sizes[s], NULL, 0) < 0)
				return 1;
			/*
			 * Slices of all implementations alternate, so a burst
			 * of other work on the machine hits them alike, and
			 * the median slice of each is kept.
			 */
			for (k = 0; k < BENCH_SLICES; k++)
				for (i = 0; i < BENCH_NCASES; i++)
					pps[i][k] = bench_slice(&b, op ? bench_impls[i].open :
								bench_impls[i].seal,
								sizes[s], seconds / BENCH_SLICES);
			for (i = 0; i < BENCH_NCASES; i++) {
				double p = bench_median(pps[i], BENCH_SLICES);

				if (i == 0)
					base = p;
				printf("%-12s %-5s %5zu %12.0f %8.3f %12.2fx\n",
				       bench_impls[i].name, op ? "open" : "seal",
				       sizes[s], p, p * (double)sizes[s] * 8 / 1e9,
				       p / base);
			}
			fflush(stdout);
		}
	}
	bench_teardown(&b);
	return 0;
}
