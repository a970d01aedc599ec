/* bench_crypto.c - ChaCha20-Poly1305 seal/open per packet: old vs keyed path, and libsodium */

/*
 * One thread, timed in its own CPU time (CLOCK_THREAD_CPUTIME_ID, so time
 * spent preempted by other work on a shared machine is not counted), each
 * case run for the requested time (1 s by default; argv[1] overrides) in
 * nine slices interleaved with the other implementations' slices; the
 * median slice is reported.  The packets
 * are what the transport path sees: no associated data, a fresh
 * counter-derived nonce per sealed packet, one session key.  Before
 * timing, every implementation's output is checked against libsodium's
 * for the same input, so the numbers compare equal work.
 *
 * Rows, and the two ratios each is printed with:
 *   old         the per-packet set-up the transport path used before keyed
 *               contexts, written inline: EVP_CipherInit_ex() with key and
 *               nonce, update, final, and the tag through
 *               EVP_CIPHER_CTX_ctrl() (the "vs old" baseline)
 *   evp-keyonce the same calls with the key set once, only the nonce per
 *               packet (how much of the gain is the key alone)
 *   oneshot     crypto_aead_{seal,open} with the key on every call (what
 *               handshakes use now: the tag through a prepared OSSL_PARAM)
 *   keyed       crypto_aead_{seal,open} on crypto_aead_ctx_new_keyed()
 *               contexts: the transport path now
 *   libsodium   crypto_aead_chacha20poly1305_ietf_{encrypt,decrypt}, the
 *               "vs libsodium" reference
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
#define BENCH_NCASES	5
#define BENCH_OLD	0	/* index of the "vs old" baseline */
#define BENCH_KEYED	3
#define BENCH_SODIUM	4	/* index of the "vs libsodium" reference */
#define BENCH_SLICES	9

struct bench {
	uint8_t key[CRYPTO_KEY_LEN];
	uint8_t plain[BENCH_MAX];
	uint8_t sealed[BENCH_MAX + CRYPTO_TAG_LEN];	/* open's input */
	uint8_t out[BENCH_MAX + CRYPTO_TAG_LEN];
	uint64_t sealed_counter;
	struct crypto_aead_ctx *ctx;	/* key per call */
	struct crypto_aead_ctx *kenc;	/* keyed, sealing */
	struct crypto_aead_ctx *kdec;	/* keyed, opening */
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

static int oneshot_seal(struct bench *b, size_t size, uint64_t counter)
{
	return crypto_aead_seal(b->ctx, b->out, b->key, counter, b->plain, size,
				NULL, 0);
}

static int oneshot_open(struct bench *b, size_t size, uint64_t counter)
{
	(void)counter;
	return crypto_aead_open(b->ctx, b->out, b->key, b->sealed_counter,
				b->sealed, size + CRYPTO_TAG_LEN, NULL, 0);
}

static int keyed_seal(struct bench *b, size_t size, uint64_t counter)
{
	return crypto_aead_seal(b->kenc, b->out, NULL, counter, b->plain, size,
				NULL, 0);
}

static int keyed_open(struct bench *b, size_t size, uint64_t counter)
{
	(void)counter;
	return crypto_aead_open(b->kdec, b->out, NULL, b->sealed_counter,
				b->sealed, size + CRYPTO_TAG_LEN, NULL, 0);
}

/*
 * The old path, as src/crypto.c had it; key == NULL keeps the key already
 * in the context.
 */
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

static int old_seal(struct bench *b, size_t size, uint64_t counter)
{
	return evp_seal_with(b->evp, b, b->key, size, counter);
}

static int old_open(struct bench *b, size_t size, uint64_t counter)
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
	[BENCH_OLD] = { "old", old_seal, old_open },
	{ "evp-keyonce", evp_keyonce_seal, evp_keyonce_open },
	{ "oneshot", oneshot_seal, oneshot_open },
	[BENCH_KEYED] = { "keyed", keyed_seal, keyed_open },
	[BENCH_SODIUM] = { "libsodium", sodium_seal, sodium_open },
};

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Packets per CPU second of fn over about `seconds` of CPU time. */
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
	b->kenc = crypto_aead_ctx_new_keyed(b->key);
	b->kdec = crypto_aead_ctx_new_keyed(b->key);
	cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	b->evp = EVP_CIPHER_CTX_new();
	b->evp_enc = EVP_CIPHER_CTX_new();
	b->evp_dec = EVP_CIPHER_CTX_new();
	ok = b->ctx && b->kenc && b->kdec && cipher && b->evp && b->evp_enc && b->evp_dec &&
	     EVP_CipherInit_ex(b->evp, cipher, NULL, NULL, NULL, 1) == 1 &&
	     EVP_CipherInit_ex(b->evp_enc, cipher, NULL, b->key, NULL, 1) == 1 &&
	     EVP_CipherInit_ex(b->evp_dec, cipher, NULL, b->key, NULL, 0) == 1;
	EVP_CIPHER_free(cipher);
	return ok ? 0 : -1;
}

static void bench_teardown(struct bench *b)
{
	crypto_aead_ctx_free(b->ctx);
	crypto_aead_ctx_free(b->kenc);
	crypto_aead_ctx_free(b->kdec);
	EVP_CIPHER_CTX_free(b->evp);
	EVP_CIPHER_CTX_free(b->evp_enc);
	EVP_CIPHER_CTX_free(b->evp_dec);
	crypto_wipe(b->key, sizeof(b->key));
}

/*
 * "vs old" is the median over slices of this row's rate divided by the old
 * path's in the same slice (they ran back to back), which cancels most of
 * the drift of a shared machine; "vs libsodium" divides the medians.
 */
static double bench_paired(double pps[][BENCH_SLICES], int i, int base)
{
	double r[BENCH_SLICES];
	int k;

	for (k = 0; k < BENCH_SLICES; k++)
		r[k] = pps[i][k] / pps[base][k];
	return bench_median(r, BENCH_SLICES);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, BENCH_MAX };
	static struct bench b;
	double gain[2][2], seconds = 1.0;
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
	printf("# %s, libsodium %s, %s, 1 thread, %.1f CPU s per case (median of %d)\n",
	       OpenSSL_version(OPENSSL_VERSION), sodium_version_string(),
	       u.machine, seconds, BENCH_SLICES);
	printf("# rates per second of the thread's CPU time; Gbit/s counts payload bytes\n"
	       "# (the 16-byte tag excluded);\n"
	       "# vs old: median of per-slice ratios to the old path\n");
	printf("%-12s %-5s %5s %12s %8s %8s %8s %13s\n", "path", "op", "size",
	       "packets/s", "ns/pkt", "Gbit/s", "vs old", "vs libsodium");

	for (op = 0; op < 2; op++) {
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			double pps[BENCH_NCASES][BENCH_SLICES], med[BENCH_NCASES];
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
				double v[BENCH_SLICES];

				memcpy(v, pps[i], sizeof(v));
				med[i] = bench_median(v, BENCH_SLICES);
			}
			for (i = 0; i < BENCH_NCASES; i++)
				printf("%-12s %-5s %5zu %12.0f %8.0f %8.3f %7.2fx %12.2fx\n",
				       bench_impls[i].name, op ? "open" : "seal",
				       sizes[s], med[i], 1e9 / med[i],
				       med[i] * (double)sizes[s] * 8 / 1e9,
				       bench_paired(pps, i, BENCH_OLD),
				       med[i] / med[BENCH_SODIUM]);
			gain[op][s] = bench_paired(pps, BENCH_KEYED, BENCH_OLD);
			fflush(stdout);
		}
	}
	printf("# keyed vs old: seal %.2fx (64 B) %.2fx (%d B), open %.2fx (64 B) %.2fx (%d B)\n",
	       gain[0][0], gain[0][1], BENCH_MAX, gain[1][0], gain[1][1], BENCH_MAX);
	bench_teardown(&b);
	return 0;
}
