/* test_bytes.c - the byte-order loads and stores, and every overrun of the reader and writer */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bytes.h"

static const uint8_t seq[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };

static void test_loads(void **state)
{
	(void)state;
	assert_int_equal(bytes_load_be16(seq), 0x0102);
	assert_int_equal(bytes_load_be32(seq), 0x01020304);
	assert_true(bytes_load_be64(seq) == 0x0102030405060708ULL);
	assert_int_equal(bytes_load_le32(seq), 0x04030201);
	assert_true(bytes_load_le64(seq) == 0x0807060504030201ULL);
	/* top bits survive: no sign extension anywhere */
	{
		static const uint8_t ff[8] = { 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8 };

		assert_int_equal(bytes_load_be16(ff), 0xfffe);
		assert_true(bytes_load_be32(ff) == 0xfffefdfcu);
		assert_true(bytes_load_be64(ff) == 0xfffefdfcfbfaf9f8ULL);
		assert_true(bytes_load_le32(ff) == 0xfcfdfeffu);
		assert_true(bytes_load_le64(ff) == 0xf8f9fafbfcfdfeffULL);
	}
}

static void test_stores(void **state)
{
	uint8_t b[10];

	(void)state;
	memset(b, 0xee, sizeof(b));
	bytes_store_be16(b + 1, 0x0102);
	assert_memory_equal(b + 1, seq, 2);
	assert_int_equal(b[0], 0xee);
	assert_int_equal(b[3], 0xee);
	memset(b, 0xee, sizeof(b));
	bytes_store_be32(b + 1, 0x01020304);
	assert_memory_equal(b + 1, seq, 4);
	assert_int_equal(b[5], 0xee);
	memset(b, 0xee, sizeof(b));
	bytes_store_be64(b + 1, 0x0102030405060708ULL);
	assert_memory_equal(b + 1, seq, 8);
	assert_int_equal(b[0], 0xee);
	assert_int_equal(b[9], 0xee);
	memset(b, 0xee, sizeof(b));
	bytes_store_le32(b + 1, 0x04030201);
	assert_memory_equal(b + 1, seq, 4);
	assert_int_equal(b[5], 0xee);
	memset(b, 0xee, sizeof(b));
	bytes_store_le64(b + 1, 0x0807060504030201ULL);
	assert_memory_equal(b + 1, seq, 8);
	assert_int_equal(b[9], 0xee);
}

static void test_host_order(void **state)
{
	uint16_t h16 = 0x1234;
	uint32_t h32 = 0x12345678;
	uint8_t b[4];

	(void)state;
	/* the same bytes as the machine keeps the integer in memory */
	bytes_store_host16(b, 0x1234);
	assert_memory_equal(b, &h16, 2);
	assert_int_equal(bytes_load_host16(b), 0x1234);
	bytes_store_host32(b, 0x12345678);
	assert_memory_equal(b, &h32, 4);
	assert_int_equal(bytes_load_host32(b), 0x12345678);
}

/* A heap copy of exactly len bytes, so that ASan sees a read one past it. */
static uint8_t *exact(const void *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

static void test_reader_whole(void **state)
{
	static const uint8_t msg[] = {
		0xab,						/* u8 */
		0x01, 0x02,					/* be16 */
		0x01, 0x02, 0x03, 0x04,				/* be32 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* be64 */
		0x01, 0x02, 0x03, 0x04,				/* le32 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* le64 */
		'a', 'b', 'c',					/* mem */
		0x00, 0x00,					/* skipped */
	};
	uint8_t *p = exact(msg, sizeof(msg)), mem[3];
	const uint8_t *skipped;
	struct bytes_rd r;

	(void)state;
	bytes_rd_init(&r, p, sizeof(msg));
	assert_int_equal(bytes_left(&r), sizeof(msg));
	assert_false(bytes_rd_done(&r));
	assert_int_equal(bytes_get_u8(&r), 0xab);
	assert_int_equal(bytes_get_be16(&r), 0x0102);
	assert_int_equal(bytes_get_be32(&r), 0x01020304);
	assert_true(bytes_get_be64(&r) == 0x0102030405060708ULL);
	assert_int_equal(bytes_get_le32(&r), 0x04030201);
	assert_true(bytes_get_le64(&r) == 0x0807060504030201ULL);
	assert_true(bytes_get_mem(&r, mem, 3));
	assert_memory_equal(mem, "abc", 3);
	assert_int_equal(bytes_left(&r), 2);
	skipped = bytes_skip(&r, 2);
	assert_ptr_equal(skipped, p + sizeof(msg) - 2);
	assert_true(bytes_rd_ok(&r));
	assert_true(bytes_rd_done(&r));
	assert_int_equal(bytes_left(&r), 0);
	/* nothing is left: a read of zero bytes still fits, one byte does not */
	assert_non_null(bytes_skip(&r, 0));
	assert_true(bytes_rd_done(&r));
	assert_int_equal(bytes_get_u8(&r), 0);
	assert_false(bytes_rd_ok(&r));
	assert_false(bytes_rd_done(&r));
	free(p);
}

enum getter { G_U8, G_BE16, G_BE32, G_BE64, G_LE32, G_LE64, G_MEM, G_SKIP, G_MAX };

static const size_t getter_len[G_MAX] = { 1, 2, 4, 8, 4, 8, 5, 5 };

/* One read of kind g; its value, or for mem/skip whether it succeeded. */
static uint64_t get(struct bytes_rd *r, enum getter g)
{
	uint8_t out[5];

	switch (g) {
	case G_U8: return bytes_get_u8(r);
	case G_BE16: return bytes_get_be16(r);
	case G_BE32: return bytes_get_be32(r);
	case G_BE64: return bytes_get_be64(r);
	case G_LE32: return bytes_get_le32(r);
	case G_LE64: return bytes_get_le64(r);
	case G_MEM:
		memset(out, 0x5a, sizeof(out));
		if (!bytes_get_mem(r, out, sizeof(out))) {
			for (size_t i = 0; i < sizeof(out); i++)
				assert_int_equal(out[i], 0);	/* zeroed, not left as it was */
			return 0;
		}
		return 1;
	case G_SKIP: return bytes_skip(r, 5) != NULL;
	default: fail();
	}
	return 0;
}

/*
 * Every getter, on every buffer one to n bytes short of what it needs, at
 * offset 0 and after a read that used some of the buffer: 0, the offset
 * unchanged, the reader bad, and so is every later read, even one that
 * would fit on its own.
 */
static void test_reader_every_overrun(void **state)
{
	static const uint8_t ones[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};

	(void)state;
	for (int g = 0; g < G_MAX; g++) {
		for (size_t lead = 0; lead <= 3; lead += 3) {
			for (size_t have = 0; have < getter_len[g]; have++) {
				uint8_t *p = exact(ones, lead + have);
				struct bytes_rd r;

				bytes_rd_init(&r, p, lead + have);
				if (lead)
					assert_non_null(bytes_skip(&r, lead));
				assert_true(get(&r, (enum getter)g) == 0);
				assert_false(bytes_rd_ok(&r));
				assert_false(bytes_rd_done(&r));
				assert_int_equal(r.off, lead);
				assert_int_equal(bytes_left(&r), 0);
				/* sticky: a read that would have fit fails too */
				assert_null(bytes_skip(&r, 0));
				assert_int_equal(bytes_get_u8(&r), 0);
				assert_int_equal(r.off, lead);
				free(p);
			}
			/* exactly enough: the read succeeds and ends the buffer */
			{
				uint8_t *p = exact(ones, lead + getter_len[g]);
				struct bytes_rd r;

				bytes_rd_init(&r, p, lead + getter_len[g]);
				if (lead)
					assert_non_null(bytes_skip(&r, lead));
				assert_true(get(&r, (enum getter)g) != 0);
				assert_true(bytes_rd_done(&r));
				free(p);
			}
		}
	}
}

/* A huge length must not wrap the bounds check around. */
static void test_reader_huge(void **state)
{
	uint8_t b[4] = { 1, 2, 3, 4 };
	struct bytes_rd r;

	(void)state;
	bytes_rd_init(&r, b, sizeof(b));
	assert_int_equal(bytes_get_u8(&r), 1);
	assert_null(bytes_skip(&r, SIZE_MAX));
	assert_false(bytes_rd_ok(&r));
	bytes_rd_init(&r, b, sizeof(b));
	assert_null(bytes_skip(&r, SIZE_MAX - 1));
	assert_int_equal(r.off, 0);
	bytes_rd_init(&r, NULL, 0);
	assert_true(bytes_rd_done(&r));
	assert_int_equal(bytes_get_be16(&r), 0);
	assert_false(bytes_rd_ok(&r));
}

static void test_writer_whole(void **state)
{
	static const uint8_t want[] = {
		0xab,
		0x01, 0x02,
		0x01, 0x02, 0x03, 0x04,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x01, 0x02, 0x03, 0x04,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		'a', 'b', 'c',
		0x77, 0x77,
	};
	uint8_t *p = exact(want, sizeof(want)), *q;
	struct bytes_wr w;

	(void)state;
	memset(p, 0, sizeof(want));
	bytes_wr_init(&w, p, sizeof(want));
	bytes_put_u8(&w, 0xab);
	bytes_put_be16(&w, 0x0102);
	bytes_put_be32(&w, 0x01020304);
	bytes_put_be64(&w, 0x0102030405060708ULL);
	bytes_put_le32(&w, 0x04030201);
	bytes_put_le64(&w, 0x0807060504030201ULL);
	bytes_put_mem(&w, "abc", 3);
	q = bytes_reserve(&w, 2);
	assert_ptr_equal(q, p + sizeof(want) - 2);
	q[0] = q[1] = 0x77;
	assert_true(bytes_wr_ok(&w));
	assert_int_equal(w.off, sizeof(want));
	assert_memory_equal(p, want, sizeof(want));
	bytes_put_mem(&w, NULL, 0);
	assert_true(bytes_wr_ok(&w));
	bytes_put_u8(&w, 1);
	assert_false(bytes_wr_ok(&w));
	assert_int_equal(w.off, sizeof(want));
	assert_memory_equal(p, want, sizeof(want));
	free(p);
}

enum putter { P_U8, P_BE16, P_BE32, P_BE64, P_LE32, P_LE64, P_MEM, P_RESERVE, P_MAX };

static const size_t putter_len[P_MAX] = { 1, 2, 4, 8, 4, 8, 5, 5 };

static void put(struct bytes_wr *w, enum putter k)
{
	switch (k) {
	case P_U8: bytes_put_u8(w, 0x11); break;
	case P_BE16: bytes_put_be16(w, 0x1111); break;
	case P_BE32: bytes_put_be32(w, 0x11111111); break;
	case P_BE64: bytes_put_be64(w, 0x1111111111111111ULL); break;
	case P_LE32: bytes_put_le32(w, 0x11111111); break;
	case P_LE64: bytes_put_le64(w, 0x1111111111111111ULL); break;
	case P_MEM: bytes_put_mem(w, "\x11\x11\x11\x11\x11", 5); break;
	case P_RESERVE: {
		uint8_t *q = bytes_reserve(w, 5);

		if (q)
			memset(q, 0x11, 5);
		else
			assert_false(bytes_wr_ok(w));
		break;
	}
	default: fail();
	}
}

/* Every writer, one to n bytes short: nothing written, the offset kept, the writer bad. */
static void test_writer_every_overrun(void **state)
{
	(void)state;
	for (int k = 0; k < P_MAX; k++) {
		for (size_t lead = 0; lead <= 3; lead += 3) {
			for (size_t room = 0; room <= putter_len[k]; room++) {
				uint8_t *p = malloc(lead + room + 1);
				struct bytes_wr w;

				assert_non_null(p);
				memset(p, 0, lead + room + 1);
				bytes_wr_init(&w, p, lead + room);
				if (lead)
					assert_non_null(bytes_reserve(&w, lead));
				put(&w, (enum putter)k);
				if (room == putter_len[k]) {
					assert_true(bytes_wr_ok(&w));
					assert_int_equal(w.off, lead + room);
					for (size_t i = 0; i < room; i++)
						assert_int_equal(p[lead + i], 0x11);
				} else {
					assert_false(bytes_wr_ok(&w));
					assert_int_equal(w.off, lead);
					for (size_t i = 0; i < room + 1; i++)
						assert_int_equal(p[lead + i], 0);
					/* sticky: a write that would fit is refused too */
					bytes_put_mem(&w, "", 0);
					assert_null(bytes_reserve(&w, 0));
					if (room)
						bytes_put_u8(&w, 0x22);
					assert_int_equal(w.off, lead);
					assert_int_equal(p[lead], 0);
				}
				free(p);
			}
		}
	}
}

/* What the writer makes, the reader reads back. */
static void test_round_trip(void **state)
{
	uint8_t buf[64];
	struct bytes_wr w;
	struct bytes_rd r;

	(void)state;
	for (uint64_t v = 1; v; v <<= 7) {
		uint64_t x = v * 0x9e3779b97f4a7c15ULL;

		bytes_wr_init(&w, buf, sizeof(buf));
		bytes_put_be16(&w, (uint16_t)x);
		bytes_put_be32(&w, (uint32_t)x);
		bytes_put_be64(&w, x);
		bytes_put_le32(&w, (uint32_t)x);
		bytes_put_le64(&w, x);
		assert_true(bytes_wr_ok(&w));
		bytes_rd_init(&r, buf, w.off);
		assert_int_equal(bytes_get_be16(&r), (uint16_t)x);
		assert_int_equal(bytes_get_be32(&r), (uint32_t)x);
		assert_true(bytes_get_be64(&r) == x);
		assert_int_equal(bytes_get_le32(&r), (uint32_t)x);
		assert_true(bytes_get_le64(&r) == x);
		assert_true(bytes_rd_done(&r));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads),
		cmocka_unit_test(test_stores),
		cmocka_unit_test(test_host_order),
		cmocka_unit_test(test_reader_whole),
		cmocka_unit_test(test_reader_every_overrun),
		cmocka_unit_test(test_reader_huge),
		cmocka_unit_test(test_writer_whole),
		cmocka_unit_test(test_writer_every_overrun),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
