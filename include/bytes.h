/* bytes.h - integers in wire byte order, and the one bounds-checked reader and writer
 *
 * Theory of operation: there are two ways to touch bytes here.
 *
 * The plain loads and stores (bytes_load_be16(), bytes_store_le64(), ...)
 * read or write a fixed-width integer at a pointer and check nothing. They
 * are for code that has already proved the length, such as the packet path
 * after its exact size checks: they compile to a load and a byte swap, so
 * the hot path pays nothing for sharing them. The host-order pair
 * (bytes_load_host16/32) is for structures the local kernel wrote in its
 * own byte order (routing sockets, pcap records of this machine).
 *
 * Everything else that parses untrusted bytes (network, kernel, control
 * socket, files) goes through a cursor. A read past the end takes nothing:
 * it returns 0 (or zeroes the destination), leaves the offset where it was
 * and marks the cursor bad, and every later read fails the same way. A
 * parser can therefore read a whole structure and check bytes_rd_ok() or
 * bytes_rd_done() once at the end, and still never touch a byte outside
 * the buffer. The writer mirrors it: a write that does not fit writes
 * nothing and marks the writer bad.
 */
#ifndef GANGWAY_BYTES_H
#define GANGWAY_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- plain loads and stores: the caller has checked the length ---------- */

static inline uint16_t bytes_load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t bytes_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t bytes_load_be64(const uint8_t *p)
{
	return (uint64_t)bytes_load_be32(p) << 32 | bytes_load_be32(p + 4);
}

static inline uint32_t bytes_load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t bytes_load_le64(const uint8_t *p)
{
	return (uint64_t)bytes_load_le32(p) | (uint64_t)bytes_load_le32(p + 4) << 32;
}

static inline void bytes_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void bytes_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void bytes_store_be64(uint8_t *p, uint64_t v)
{
	bytes_store_be32(p, (uint32_t)(v >> 32));
	bytes_store_be32(p + 4, (uint32_t)v);
}

static inline void bytes_store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void bytes_store_le64(uint8_t *p, uint64_t v)
{
	bytes_store_le32(p, (uint32_t)v);
	bytes_store_le32(p + 4, (uint32_t)(v >> 32));
}

/* In the byte order of the machine running this (kernel structures). */
static inline uint16_t bytes_load_host16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t bytes_load_host32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void bytes_store_host16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void bytes_store_host32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* ---- the reader ---------------------------------------------------------- */

/* len bytes at p, read from off; bad once any read did not fit. */
struct bytes_rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static inline void bytes_rd_init(struct bytes_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = false;
}

/* Bytes not read yet (0 once bad). */
static inline size_t bytes_left(const struct bytes_rd *r)
{
	return r->bad ? 0 : r->len - r->off;
}

/* No read so far went past the end. */
static inline bool bytes_rd_ok(const struct bytes_rd *r)
{
	return !r->bad;
}

/* Every byte read, and none past the end: the exact-size check. */
static inline bool bytes_rd_done(const struct bytes_rd *r)
{
	return !r->bad && r->off == r->len;
}

/*
 * The next n bytes, consumed; NULL (and the reader bad) if fewer are left.
 * The pointer is into the reader's buffer: a field to hash, compare or
 * copy where it lies.
 */
static inline const uint8_t *bytes_skip(struct bytes_rd *r, size_t n)
{
	const uint8_t *q;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static inline uint8_t bytes_get_u8(struct bytes_rd *r)
{
	const uint8_t *q = bytes_skip(r, 1);

	return q ? q[0] : 0;
}

static inline uint16_t bytes_get_be16(struct bytes_rd *r)
{
	const uint8_t *q = bytes_skip(r, 2);

	return q ? bytes_load_be16(q) : 0;
}

static inline uint32_t bytes_get_be32(struct bytes_rd *r)
{
	const uint8_t *q = bytes_skip(r, 4);

	return q ? bytes_load_be32(q) : 0;
}

static inline uint64_t bytes_get_be64(struct bytes_rd *r)
{
	const uint8_t *q = bytes_skip(r, 8);

	return q ? bytes_load_be64(q) : 0;
}

static inline uint32_t bytes_get_le32(struct bytes_rd *r)
{
	const uint8_t *q = bytes_skip(r, 4);

	return q ? bytes_load_le32(q) : 0;
}

static inline uint64_t bytes_get_le64(struct bytes_rd *r)
{
	const uint8_t *q = bytes_skip(r, 8);

	return q ? bytes_load_le64(q) : 0;
}

/* n bytes into out; out zeroed and false if fewer are left. */
static inline bool bytes_get_mem(struct bytes_rd *r, void *out, size_t n)
{
	const uint8_t *q = bytes_skip(r, n);

	if (!q) {
		if (n)
			memset(out, 0, n);
		return false;
	}
	if (n)
		memcpy(out, q, n);
	return true;
}

/* ---- the writer ---------------------------------------------------------- */

/* size bytes at p, written from off; bad once any write did not fit. */
struct bytes_wr {
	uint8_t *p;
	size_t size, off;
	bool bad;
};

static inline void bytes_wr_init(struct bytes_wr *w, void *p, size_t size)
{
	w->p = p;
	w->size = size;
	w->off = 0;
	w->bad = false;
}

/* No write so far was refused. */
static inline bool bytes_wr_ok(const struct bytes_wr *w)
{
	return !w->bad;
}

/*
 * Room for the next n bytes, claimed; NULL (and the writer bad) if fewer
 * are left. The caller fills them.
 */
static inline uint8_t *bytes_reserve(struct bytes_wr *w, size_t n)
{
	uint8_t *q;

	if (w->bad || n > w->size - w->off) {
		w->bad = true;
		return NULL;
	}
	q = w->p + w->off;
	w->off += n;
	return q;
}

static inline void bytes_put_u8(struct bytes_wr *w, uint8_t v)
{
	uint8_t *q = bytes_reserve(w, 1);

	if (q)
		q[0] = v;
}

static inline void bytes_put_be16(struct bytes_wr *w, uint16_t v)
{
	uint8_t *q = bytes_reserve(w, 2);

	if (q)
		bytes_store_be16(q, v);
}

static inline void bytes_put_be32(struct bytes_wr *w, uint32_t v)
{
	uint8_t *q = bytes_reserve(w, 4);

	if (q)
		bytes_store_be32(q, v);
}

static inline void bytes_put_be64(struct bytes_wr *w, uint64_t v)
{
	uint8_t *q = bytes_reserve(w, 8);

	if (q)
		bytes_store_be64(q, v);
}

static inline void bytes_put_le32(struct bytes_wr *w, uint32_t v)
{
	uint8_t *q = bytes_reserve(w, 4);

	if (q)
		bytes_store_le32(q, v);
}

static inline void bytes_put_le64(struct bytes_wr *w, uint64_t v)
{
	uint8_t *q = bytes_reserve(w, 8);

	if (q)
		bytes_store_le64(q, v);
}

static inline void bytes_put_mem(struct bytes_wr *w, const void *src, size_t n)
{
	uint8_t *q = bytes_reserve(w, n);

	if (q && n)
		memcpy(q, src, n);
}

#endif
