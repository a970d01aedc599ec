/* test_key.c - base64 key encoding against Python's base64 and bad input */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "key.h"

/* Pairs made with python3 -c 'import base64; base64.b64encode(bytes(...))'. */
static void test_known(void **state)
{
	uint8_t k[KEY_LEN], d[KEY_LEN];
	char s[KEY_B64_LEN + 1];

	(void)state;
	memset(k, 0, sizeof(k));
	key_to_base64(s, k);
	assert_string_equal(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	for (int i = 0; i < KEY_LEN; i++)
		k[i] = (uint8_t)i;
	key_to_base64(s, k);
	/* base64.b64encode(bytes(range(32))) */
	assert_string_equal(s, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	assert_int_equal(key_from_base64(d, s), 0);
	assert_memory_equal(d, k, KEY_LEN);
	memset(k, 0xfb, sizeof(k));
	key_to_base64(s, k);
	/* base64.b64encode(b'\xfb' * 32): exercises '+' and '/' */
	assert_string_equal(s, "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=");
	assert_int_equal(key_from_base64(d, s), 0);
	assert_memory_equal(d, k, KEY_LEN);
}

static void test_roundtrip_random(void **state)
{
	uint8_t k[KEY_LEN], d[KEY_LEN];
	char s[KEY_B64_LEN + 1];

	(void)state;
	srand(1);
	for (int n = 0; n < 10000; n++) {
		for (int i = 0; i < KEY_LEN; i++)
			k[i] = (uint8_t)rand();
		key_to_base64(s, k);
		assert_int_equal(strlen(s), KEY_B64_LEN);
		assert_int_equal(key_from_base64(d, s), 0);
		assert_memory_equal(d, k, KEY_LEN);
	}
}

static void test_bad(void **state)
{
	static const char *bad[] = {
		"",
		"AAAA",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",		/* no pad */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",	/* too long */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",	/* pad missing */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=",	/* alphabet */
		"AAECAwQFBgcICQoLDA0ODxAR EhMUFRYXGBkaGxwdHh8=",	/* space */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",	/* non-canonical */
		"-_ECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",	/* url alphabet */
	};
	uint8_t d[KEY_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(d, 0x55, sizeof(d));
		if (key_from_base64(d, bad[i]) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* A refused key leaves no partial bytes behind. */
	assert_true(key_is_zero(d));
}

static void test_read_and_zero(void **state)
{
	uint8_t d[KEY_LEN];

	(void)state;
	assert_int_equal(key_read(d, "  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"), 0);
	assert_int_equal(d[31], 31);
	assert_false(key_is_zero(d));
	assert_int_equal(key_read(d, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nx"), -EINVAL);
	assert_int_equal(key_read(d, "\n"), -EINVAL);
	memset(d, 0, sizeof(d));
	assert_true(key_is_zero(d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_roundtrip_random),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_read_and_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
