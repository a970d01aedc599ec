/* crypto.c - WireGuard's primitives (X25519, ChaCha20-Poly1305, BLAKE2s) over OpenSSL 3 */

/*
 * Theory of operation
 *
 * Every primitive comes from OpenSSL 3 libcrypto; nothing here implements a
 * cipher, a hash or a curve.  The algorithm objects (EVP_MD, EVP_MAC,
 * EVP_CIPHER) are fetched once, the first time any function runs (or from
 * crypto_init()), and kept for the life of the process: an implicit fetch
 * per call would take provider locks on every packet.
 *
 * Contexts are never allocated per call:
 *  - the AEAD uses a caller-owned struct crypto_aead_ctx, bound to
 *    ChaCha20-Poly1305 when created.  A keyed context
 *    (crypto_aead_ctx_new_keyed(), one per direction of a session) holds
 *    its key from creation until it is freed, so a transport packet costs
 *    one EVP init with only the nonce, the data, the final and the tag.  A
 *    plain context (handshakes) is re-keyed on every call with the same
 *    init, which reuses the provider context instead of building a new one;
 *  - the tag goes through an OSSL_PARAM array built once per context and
 *    pointing at the context's own tag buffer: the expected tag rides on
 *    the decrypt init, the computed one is read with one get_params, and no
 *    EVP_CIPHER_CTX_ctrl() translation runs per packet;
 *  - hash, MACs, HChaCha20 and XChaCha20 use per-thread contexts created on
 *    the thread's first call and freed by a pthread key destructor when the
 *    thread exits.  crypto_init() creates them for the calling thread, so a
 *    worker that calls it first learns about -ENOMEM there rather than in
 *    crypto_hash(), which returns void and can only abort().  The HMAC
 *    context is keyed with zeros after each KDF, so that it does not keep
 *    the KDF's key for the life of the thread.
 *
 * crypto_hash() aborts on a library failure.  With a fetched digest and a
 * live context, BLAKE2s init/update/final cannot fail short of memory
 * corruption or a broken libcrypto, and a WireGuard handshake computed
 * from a wrong hash would be worse than stopping.
 *
 * Failures caused by untrusted input (a bad tag, a low-order X25519 point)
 * clear OpenSSL's per-thread error queue so that a flood of them leaves no
 * trace behind.
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "bytes.h"
#include "crypto.h"

#define CRYPTO_BLOCK_LEN	64	/* one ChaCha20 block */
#define CRYPTO_HNONCE_LEN	16	/* HChaCha20 nonce */

struct crypto_aead_ctx {
	EVP_CIPHER_CTX *evp;
	OSSL_PARAM tag_param[2];	/* AEAD tag -> tag[], built once */
	uint8_t tag[CRYPTO_TAG_LEN];	/* public: a sent or expected tag */
	bool keyed;			/* holds its key; calls pass key NULL */
};

/* Per-thread contexts for everything that has no caller-owned context. */
struct crypto_thread {
	EVP_MD_CTX *md;			/* BLAKE2s-256 */
	EVP_MAC_CTX *kmac;		/* keyed BLAKE2s (BLAKE2SMAC) */
	EVP_MAC_CTX *hmac;		/* HMAC-BLAKE2s-256 */
	EVP_CIPHER_CTX *chacha;		/* bare ChaCha20, for HChaCha20 */
	struct crypto_aead_ctx aead;	/* inner AEAD of XChaCha20-Poly1305 */
};

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_once_err;
static pthread_key_t crypto_thread_key;

static EVP_MD *crypto_blake2s;
static EVP_MAC *crypto_blake2s_mac;
static EVP_MAC *crypto_hmac_mac;
static EVP_CIPHER *crypto_chacha20;
static EVP_CIPHER *crypto_chacha20_poly1305;

static _Thread_local struct crypto_thread *crypto_thread_state;

static void crypto_thread_free(void *arg)
{
	struct crypto_thread *t = arg;

	if (!t)
		return;
	EVP_MD_CTX_free(t->md);
	EVP_MAC_CTX_free(t->kmac);
	EVP_MAC_CTX_free(t->hmac);
	EVP_CIPHER_CTX_free(t->chacha);
	EVP_CIPHER_CTX_free(t->aead.evp);
	free(t);
	crypto_thread_state = NULL;
}

static void crypto_global_init(void)
{
	crypto_blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	crypto_blake2s_mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	crypto_hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	crypto_chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	crypto_chacha20_poly1305 = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (!crypto_blake2s || !crypto_blake2s_mac || !crypto_hmac_mac ||
	    !crypto_chacha20 || !crypto_chacha20_poly1305) {
		/* the default provider lacks an algorithm: nothing will work */
		crypto_once_err = -ENOSYS;
		return;
	}
	if (pthread_key_create(&crypto_thread_key, crypto_thread_free))
		crypto_once_err = -EAGAIN;
}

static int crypto_global_ready(void)
{
	if (pthread_once(&crypto_once, crypto_global_init))
		return -EAGAIN;
	return crypto_once_err;
}

/* Bind a fresh cipher context to its algorithm; keys come per call. */
static int crypto_cipher_ctx_bind(EVP_CIPHER_CTX **evp, const EVP_CIPHER *cipher)
{
	*evp = EVP_CIPHER_CTX_new();
	if (!*evp)
		return -ENOMEM;
	if (EVP_CipherInit_ex(*evp, cipher, NULL, NULL, NULL, 1) != 1)
		return -ENOMEM;
	return 0;
}

/* Bind an AEAD context to ChaCha20-Poly1305 and point its tag parameter. */
static int crypto_aead_bind(struct crypto_aead_ctx *c)
{
	c->tag_param[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
							    c->tag, sizeof(c->tag));
	c->tag_param[1] = OSSL_PARAM_construct_end();
	c->keyed = false;
	return crypto_cipher_ctx_bind(&c->evp, crypto_chacha20_poly1305);
}

/* The thread's HMAC context, bound to BLAKE2s-256; keys come per call. */
static int crypto_hmac_ctx_new(struct crypto_thread *t)
{
	OSSL_PARAM params[2];

	t->hmac = EVP_MAC_CTX_new(crypto_hmac_mac);
	if (!t->hmac)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"BLAKE2S-256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(t->hmac, params) != 1) {
		EVP_MAC_CTX_free(t->hmac);
		t->hmac = NULL;
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

static int crypto_thread_new(struct crypto_thread **tp)
{
	struct crypto_thread *t;
	int err;

	err = crypto_global_ready();
	if (err < 0)
		return err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	err = -ENOMEM;
	t->md = EVP_MD_CTX_new();
	t->kmac = EVP_MAC_CTX_new(crypto_blake2s_mac);
	if (!t->md || !t->kmac || crypto_hmac_ctx_new(t) < 0)
		goto fail;
	err = crypto_cipher_ctx_bind(&t->chacha, crypto_chacha20);
	if (err < 0)
		goto fail;
	err = crypto_aead_bind(&t->aead);
	if (err < 0)
		goto fail;
	if (pthread_setspecific(crypto_thread_key, t)) {
		err = -ENOMEM;
		goto fail;
	}
	*tp = t;
	return 0;
fail:
	crypto_thread_free(t);
	ERR_clear_error();
	return err;
}

static inline int crypto_thread_get(struct crypto_thread **tp)
{
	int err;

	if (__builtin_expect(crypto_thread_state != NULL, 1)) {
		*tp = crypto_thread_state;
		return 0;
	}
	err = crypto_thread_new(tp);
	if (err < 0)
		return err;
	crypto_thread_state = *tp;
	return 0;
}

/**
 * crypto_init() - fetch the algorithms and create the calling thread's contexts
 *
 * Optional (every function initialises on first use) but lets a program or
 * a worker thread learn about a missing algorithm or -ENOMEM up front.
 * Safe to call more than once and from several threads.
 */
int crypto_init(void)
{
	struct crypto_thread *t;

	return crypto_thread_get(&t);
}

static void crypto_must(int ok)
{
	if (__builtin_expect(ok != 1, 0))
		abort();
}

void crypto_hash(uint8_t out[CRYPTO_HASH_LEN], const void *a, size_t alen,
		 const void *b, size_t blen)
{
	struct crypto_thread *t;
	unsigned int outlen = 0;

	crypto_must(crypto_thread_get(&t) == 0);
	crypto_must(EVP_DigestInit_ex2(t->md, crypto_blake2s, NULL));
	if (alen)
		crypto_must(EVP_DigestUpdate(t->md, a, alen));
	if (blen)
		crypto_must(EVP_DigestUpdate(t->md, b, blen));
	crypto_must(EVP_DigestFinal_ex(t->md, out, &outlen));
	crypto_must(outlen == CRYPTO_HASH_LEN);
}

/* One MAC computation on a context whose algorithm parameters are set. */
static int crypto_mac_run(EVP_MAC_CTX *ctx, const OSSL_PARAM *params,
			  uint8_t *out, size_t outlen, const uint8_t *key,
			  size_t keylen, const void *in, size_t inlen)
{
	size_t n = 0;

	if (EVP_MAC_init(ctx, key, keylen, params) != 1)
		goto fail;
	if (inlen && EVP_MAC_update(ctx, in, inlen) != 1)
		goto fail;
	if (EVP_MAC_final(ctx, out, &n, outlen) != 1 || n != outlen)
		goto fail;
	return 0;
fail:
	ERR_clear_error();
	crypto_wipe(out, outlen);
	return -EIO;
}

/**
 * crypto_mac() - keyed BLAKE2s with a 16-byte output
 *
 * BLAKE2s takes 1 to 32 key bytes; anything else is -EINVAL (a NULL key
 * would make EVP_MAC_init() silently reuse the previous call's key).
 */
int crypto_mac(uint8_t out[CRYPTO_MAC_LEN], const uint8_t *key, size_t keylen,
	       const void *in, size_t inlen)
{
	size_t size = CRYPTO_MAC_LEN;
	struct crypto_thread *t;
	OSSL_PARAM params[2];
	int err;

	if (!key || keylen == 0 || keylen > 32 || (!in && inlen))
		return -EINVAL;
	err = crypto_thread_get(&t);
	if (err < 0)
		return err;
	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
	params[1] = OSSL_PARAM_construct_end();
	return crypto_mac_run(t->kmac, params, out, CRYPTO_MAC_LEN, key, keylen,
			      in, inlen);
}

static int crypto_hmac_keep(uint8_t out[CRYPTO_HASH_LEN], const uint8_t *key, size_t keylen,
			    const void *in, size_t inlen)
{
	struct crypto_thread *t;
	int err;

	if (!key || keylen == 0 || (!in && inlen))
		return -EINVAL;
	err = crypto_thread_get(&t);
	if (err == 0 && !t->hmac)
		err = crypto_hmac_ctx_new(t);
	if (err < 0)
		return err;
	return crypto_mac_run(t->hmac, NULL, out, CRYPTO_HASH_LEN, key, keylen,
			      in, inlen);
}

/*
 * crypto_hmac_forget() - leave no key in the thread's HMAC context
 *
 * The context outlives the call: OpenSSL keeps a copy of the last key (to
 * re-init with a NULL key) and, in the inner, outer and working digest
 * contexts, the key XORed with each pad as the buffered first block. Keying
 * it with zeros replaces all four; the old key copy is cleared as OpenSSL
 * frees it and the digest contexts are re-initialised in place. Should that
 * fail, the context is freed (OpenSSL clears what it frees) and made anew.
 */
static void crypto_hmac_forget(void)
{
	static const uint8_t zero[CRYPTO_HASH_LEN];
	struct crypto_thread *t = crypto_thread_state;

	if (!t || !t->hmac)
		return;
	if (EVP_MAC_init(t->hmac, zero, sizeof(zero), NULL) == 1)
		return;
	ERR_clear_error();
	EVP_MAC_CTX_free(t->hmac);
	t->hmac = NULL;
	/* if this fails too, the next crypto_hmac_keep() tries again */
	crypto_hmac_ctx_new(t);
}

/* HMAC-BLAKE2s-256; keys longer than the 64-byte block are hashed by HMAC. */
int crypto_hmac(uint8_t out[CRYPTO_HASH_LEN], const uint8_t *key, size_t keylen,
		const void *in, size_t inlen)
{
	int err = crypto_hmac_keep(out, key, keylen, in, inlen);

	crypto_hmac_forget();
	return err;
}

/**
 * crypto_kdf() - WireGuard's KDF_n (whitepaper 5.4, HKDF with HMAC-BLAKE2s)
 *
 * T0 = HMAC(ck, in); T1 = HMAC(T0, 0x1); Ti = HMAC(T0, Ti-1 || i).
 * n is 1, 2 or 3 according to which of out2/out3 are non-NULL.  Outputs are
 * written only at the end, so out1 may alias ck (as in ck = KDF1(ck, x)).
 */
int crypto_kdf(uint8_t *out1, uint8_t *out2, uint8_t *out3,
	       const uint8_t ck[CRYPTO_HASH_LEN], const void *in, size_t inlen)
{
	uint8_t t0[CRYPTO_HASH_LEN], t[3][CRYPTO_HASH_LEN];
	uint8_t buf[CRYPTO_HASH_LEN + 1];
	uint8_t *outs[3] = { out1, out2, out3 };
	int i, n, err;

	if (!out1 || !ck || (out3 && !out2))
		return -EINVAL;
	n = out3 ? 3 : out2 ? 2 : 1;

	err = crypto_hmac_keep(t0, ck, CRYPTO_HASH_LEN, in, inlen);
	if (err < 0)
		goto out;
	buf[0] = 1;
	err = crypto_hmac_keep(t[0], t0, sizeof(t0), buf, 1);
	for (i = 1; i < n && err == 0; i++) {
		memcpy(buf, t[i - 1], CRYPTO_HASH_LEN);
		buf[CRYPTO_HASH_LEN] = (uint8_t)(i + 1);
		err = crypto_hmac_keep(t[i], t0, sizeof(t0), buf, sizeof(buf));
	}
	if (err < 0)
		goto out;
	for (i = 0; i < n; i++)
		memcpy(outs[i], t[i], CRYPTO_HASH_LEN);
out:
	crypto_hmac_forget();
	crypto_wipe(t0, sizeof(t0));
	crypto_wipe(t, sizeof(t));
	crypto_wipe(buf, sizeof(buf));
	return err;
}

/* Clamp as RFC 7748 section 5 and `wg genkey` do. */
int crypto_x25519_genkey(uint8_t priv[CRYPTO_KEY_LEN])
{
	int err;

	err = crypto_random(priv, CRYPTO_KEY_LEN);
	if (err < 0)
		return err;
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	return 0;
}

int crypto_x25519_pubkey(uint8_t pub[CRYPTO_KEY_LEN],
			 const uint8_t priv[CRYPTO_KEY_LEN])
{
	size_t len = CRYPTO_KEY_LEN;
	EVP_PKEY *pkey;
	int err = 0;

	pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv,
					       CRYPTO_KEY_LEN);
	if (!pkey) {
		err = -ENOMEM;
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 ||
	    len != CRYPTO_KEY_LEN)
		err = -EIO;
out:
	EVP_PKEY_free(pkey);	/* clears the private key it copied */
	if (err)
		ERR_clear_error();
	return err;
}

/**
 * crypto_x25519() - Diffie-Hellman; -EINVAL when the shared secret is zero
 *
 * A low-order public key gives an all-zero secret (whitepaper 5.4.2 and
 * RFC 7748 section 6.1 say to reject it).  OpenSSL already refuses such a
 * result, which shows up as a derive failure and is reported as -EINVAL;
 * the output is checked again in constant time so the property does not
 * rest on that detail of the library.  Handshake-rate only: OpenSSL has no
 * X25519 interface without EVP_PKEY objects, so this allocates.
 */
int crypto_x25519(uint8_t out[CRYPTO_KEY_LEN], const uint8_t priv[CRYPTO_KEY_LEN],
		  const uint8_t pub[CRYPTO_KEY_LEN])
{
	static const uint8_t zero[CRYPTO_KEY_LEN];
	EVP_PKEY *key = NULL, *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = CRYPTO_KEY_LEN;
	int err = -ENOMEM;

	key = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv,
					      CRYPTO_KEY_LEN);
	peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pub,
					      CRYPTO_KEY_LEN);
	if (!key || !peer)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (!ctx)
		goto out;
	err = -EIO;
	if (EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1)
		goto out;
	err = -EINVAL;
	if (EVP_PKEY_derive(ctx, out, &len) != 1 || len != CRYPTO_KEY_LEN)
		goto out;
	if (CRYPTO_memcmp(out, zero, CRYPTO_KEY_LEN) == 0)
		goto out;
	err = 0;
out:
	if (err) {
		crypto_wipe(out, CRYPTO_KEY_LEN);
		ERR_clear_error();
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(key);
	return err;
}

struct crypto_aead_ctx *crypto_aead_ctx_new(void)
{
	struct crypto_aead_ctx *c;

	if (crypto_global_ready() < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (crypto_aead_bind(c) < 0) {
		crypto_aead_ctx_free(c);
		ERR_clear_error();
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

/**
 * crypto_aead_ctx_new_keyed() - a context that holds one key until freed
 *
 * For one direction of a transport session: the key is expanded into the
 * provider context here, once, and every seal/open on this context passes
 * key NULL and sets only the nonce.  The caller may wipe its own copy of
 * the key as soon as this returns.
 */
struct crypto_aead_ctx *crypto_aead_ctx_new_keyed(const uint8_t key[CRYPTO_KEY_LEN])
{
	struct crypto_aead_ctx *c;

	if (!key) {
		errno = EINVAL;
		return NULL;
	}
	c = crypto_aead_ctx_new();
	if (!c)
		return NULL;
	if (EVP_EncryptInit_ex2(c->evp, NULL, key, NULL, NULL) != 1) {
		crypto_aead_ctx_free(c);
		ERR_clear_error();
		errno = EIO;
		return NULL;
	}
	c->keyed = true;
	return c;
}

/*
 * Frees the context and, with it, its key: EVP_CIPHER_CTX_free() has the
 * provider cleanse its context (key, nonce, Poly1305 state) before freeing
 * it, and the EVP_CIPHER_CTX itself holds no copy for a provided cipher.
 */
void crypto_aead_ctx_free(struct crypto_aead_ctx *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->evp);
	crypto_wipe(c, sizeof(*c));
	free(c);
}

static int crypto_aead_sizes_ok(size_t inlen, size_t adlen)
{
	return inlen <= (size_t)INT_MAX - CRYPTO_TAG_LEN && adlen <= INT_MAX;
}

/* A keyed context takes no key; any other needs one on every call. */
static bool crypto_aead_key_ok(const struct crypto_aead_ctx *c, const uint8_t *key)
{
	return c->keyed == (key == NULL);
}

int crypto_aead_seal96(struct crypto_aead_ctx *c, uint8_t *out,
		       const uint8_t key[CRYPTO_KEY_LEN],
		       const uint8_t nonce[CRYPTO_NONCE_LEN],
		       const uint8_t *in, size_t inlen,
		       const uint8_t *ad, size_t adlen)
{
	EVP_CIPHER_CTX *evp = c->evp;
	uint8_t tail[CRYPTO_BLOCK_LEN];
	int n;

	if (!crypto_aead_key_ok(c, key))
		return -EINVAL;
	if (!crypto_aead_sizes_ok(inlen, adlen))
		return -EMSGSIZE;
	/*
	 * cipher NULL: keep the bound algorithm and its provider context;
	 * key NULL (keyed context): keep the key, set only the nonce.
	 */
	if (EVP_EncryptInit_ex2(evp, NULL, key, nonce, NULL) != 1)
		goto fail;
	if (adlen && EVP_EncryptUpdate(evp, NULL, &n, ad, (int)adlen) != 1)
		goto fail;
	if (inlen && (EVP_EncryptUpdate(evp, out, &n, in, (int)inlen) != 1 ||
		      n != (int)inlen))
		goto fail;
	/* a stream cipher has nothing left to write at the end */
	if (EVP_EncryptFinal_ex(evp, tail, &n) != 1 || n != 0)
		goto fail;
	if (EVP_CIPHER_CTX_get_params(evp, c->tag_param) != 1)
		goto fail;
	memcpy(out + inlen, c->tag, CRYPTO_TAG_LEN);
	return 0;
fail:
	ERR_clear_error();
	crypto_wipe(out, inlen + CRYPTO_TAG_LEN);
	return -EIO;
}

/*
 * Decrypt-then-check is how OpenSSL's AEAD works, so on a bad tag the
 * plaintext has already been written: it is wiped before returning.
 */
int crypto_aead_open96(struct crypto_aead_ctx *c, uint8_t *out,
		       const uint8_t key[CRYPTO_KEY_LEN],
		       const uint8_t nonce[CRYPTO_NONCE_LEN],
		       const uint8_t *in, size_t inlen,
		       const uint8_t *ad, size_t adlen)
{
	EVP_CIPHER_CTX *evp = c->evp;
	uint8_t tail[CRYPTO_BLOCK_LEN];
	size_t ctlen;
	int n;

	if (!crypto_aead_key_ok(c, key))
		return -EINVAL;
	if (inlen < CRYPTO_TAG_LEN)
		return -EBADMSG;
	if (!crypto_aead_sizes_ok(inlen, adlen))
		return -EMSGSIZE;
	ctlen = inlen - CRYPTO_TAG_LEN;
	/* copied first: with out overlapping in the tag must survive decryption */
	memcpy(c->tag, in + ctlen, CRYPTO_TAG_LEN);

	/*
	 * The expected tag rides on the init (the provider applies the
	 * parameters after the nonce), and every init sets it, so a failed
	 * open leaves nothing behind that the next packet could inherit.
	 */
	if (EVP_DecryptInit_ex2(evp, NULL, key, nonce, c->tag_param) != 1)
		goto fail;
	if (adlen && EVP_DecryptUpdate(evp, NULL, &n, ad, (int)adlen) != 1)
		goto fail;
	if (ctlen && (EVP_DecryptUpdate(evp, out, &n, in, (int)ctlen) != 1 ||
		      n != (int)ctlen))
		goto fail;
	if (EVP_DecryptFinal_ex(evp, tail, &n) != 1 || n != 0)
		goto fail;
	return 0;
fail:
	ERR_clear_error();
	if (ctlen)
		crypto_wipe(out, ctlen);
	return -EBADMSG;
}

static void crypto_nonce_from_counter(uint8_t nonce[CRYPTO_NONCE_LEN],
				      uint64_t counter)
{
	memset(nonce, 0, 4);
	bytes_store_le64(nonce + 4, counter);
}

int crypto_aead_seal(struct crypto_aead_ctx *c, uint8_t *out,
		     const uint8_t key[CRYPTO_KEY_LEN], uint64_t counter,
		     const uint8_t *in, size_t inlen,
		     const uint8_t *ad, size_t adlen)
{
	uint8_t nonce[CRYPTO_NONCE_LEN];

	crypto_nonce_from_counter(nonce, counter);
	return crypto_aead_seal96(c, out, key, nonce, in, inlen, ad, adlen);
}

int crypto_aead_open(struct crypto_aead_ctx *c, uint8_t *out,
		     const uint8_t key[CRYPTO_KEY_LEN], uint64_t counter,
		     const uint8_t *in, size_t inlen,
		     const uint8_t *ad, size_t adlen)
{
	uint8_t nonce[CRYPTO_NONCE_LEN];

	crypto_nonce_from_counter(nonce, counter);
	return crypto_aead_open96(c, out, key, nonce, in, inlen, ad, adlen);
}

/**
 * crypto_hchacha20() - HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2)
 *
 * OpenSSL 3.0 has no HChaCha20 and no XChaCha20, and ChaCha is not to be
 * written here, so HChaCha20 is recovered from one ChaCha20 block:
 *
 *  - The ChaCha20 state is words 0..3 = "expand 32-byte k", 4..11 = key,
 *    12..15 = 128 bits of counter || nonce.  OpenSSL's EVP_chacha20 takes a
 *    16-byte IV that is exactly words 12..15 (little endian), so passing the
 *    16-byte HChaCha20 nonce as that IV builds the HChaCha20 input state.
 *  - Encrypting 64 zero bytes returns the keystream block, which is
 *    rounds(state) + state, added word by word mod 2^32.
 *  - HChaCha20's output is rounds(state) words 0..3 and 12..15, without the
 *    final addition.  Those words of the state are public (the constants
 *    and the nonce), so subtracting them mod 2^32 undoes the addition.
 *
 * The key words 4..11 are never used, so the key is not exposed by the
 * subtraction.  The block is wiped afterwards all the same.
 */
int crypto_hchacha20(uint8_t out[CRYPTO_KEY_LEN], const uint8_t key[CRYPTO_KEY_LEN],
		     const uint8_t nonce[CRYPTO_HNONCE_LEN])
{
	static const uint8_t zeros[CRYPTO_BLOCK_LEN];
	static const uint32_t sigma[4] = {
		0x61707865, 0x3320646e, 0x79622d32, 0x6b206574,	/* "expand 32-byte k" */
	};
	uint8_t block[CRYPTO_BLOCK_LEN];
	struct crypto_thread *t;
	int n = 0, err;
	size_t i;

	err = crypto_thread_get(&t);
	if (err < 0)
		return err;
	if (EVP_CipherInit_ex(t->chacha, NULL, NULL, key, nonce, 1) != 1 ||
	    EVP_CipherUpdate(t->chacha, block, &n, zeros, sizeof(zeros)) != 1 ||
	    n != CRYPTO_BLOCK_LEN) {
		ERR_clear_error();
		err = -EIO;
		goto out;
	}
	for (i = 0; i < 4; i++) {
		bytes_store_le32(out + 4 * i,
				bytes_load_le32(block + 4 * i) - sigma[i]);
		bytes_store_le32(out + 16 + 4 * i,
				bytes_load_le32(block + 48 + 4 * i) -
				bytes_load_le32(nonce + 4 * i));
	}
out:
	crypto_wipe(block, sizeof(block));
	return err;
}

/*
 * XChaCha20-Poly1305(key, nonce24) = ChaCha20-Poly1305-IETF with key
 * HChaCha20(key, nonce[0..15]) and nonce 4 zero bytes || nonce[16..23].
 */
static int crypto_xaead(bool seal, uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN],
			const uint8_t nonce[CRYPTO_XNONCE_LEN],
			const uint8_t *in, size_t inlen,
			const uint8_t *ad, size_t adlen)
{
	uint8_t subkey[CRYPTO_KEY_LEN], inner[CRYPTO_NONCE_LEN];
	struct crypto_thread *t;
	int err;

	err = crypto_thread_get(&t);
	if (err < 0)
		return err;
	err = crypto_hchacha20(subkey, key, nonce);
	if (err < 0)
		goto out;
	memset(inner, 0, 4);
	memcpy(inner + 4, nonce + 16, 8);
	if (seal)
		err = crypto_aead_seal96(&t->aead, out, subkey, inner, in, inlen,
					 ad, adlen);
	else
		err = crypto_aead_open96(&t->aead, out, subkey, inner, in, inlen,
					 ad, adlen);
out:
	crypto_wipe(subkey, sizeof(subkey));
	return err;
}

int crypto_xaead_seal(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN],
		      const uint8_t nonce[CRYPTO_XNONCE_LEN],
		      const uint8_t *in, size_t inlen,
		      const uint8_t *ad, size_t adlen)
{
	return crypto_xaead(true, out, key, nonce, in, inlen, ad, adlen);
}

int crypto_xaead_open(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN],
		      const uint8_t nonce[CRYPTO_XNONCE_LEN],
		      const uint8_t *in, size_t inlen,
		      const uint8_t *ad, size_t adlen)
{
	return crypto_xaead(false, out, key, nonce, in, inlen, ad, adlen);
}

int crypto_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, n) != 1) {
			ERR_clear_error();
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void crypto_wipe(void *buf, size_t len)
{
	OPENSSL_cleanse(buf, len);
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
