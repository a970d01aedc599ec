/* fuzz_config.c - libFuzzer harness: the configuration parser on any bytes */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[CONFIG_ERR_LEN];
	int ret;

	log_init("fuzz", LOG_LVL_ERR - 1);
	ret = config_parse(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err));
	/* Every refusal must say why, naming the file. */
	if (ret && strncmp(err, "fuzz.conf", 9))
		__builtin_trap();
	config_free(&c);
	return 0;
}
