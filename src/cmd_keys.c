/* cmd_keys.c - gangway genkey, genpsk and pubkey, compatible with wg(8)'s */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cmd.h"
#include "crypto.h"
#include "key.h"

static int cmd_keys_no_args(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "Usage: gangway %s\n", argv[0]);
		return 2;
	}
	if (crypto_init()) {
		fprintf(stderr, "gangway: failed to initialise the crypto library\n");
		return 1;
	}
	return 0;
}

/* Like wg(8): a secret written to a file others can read deserves a warning. */
static void cmd_keys_warn_readable(void)
{
	struct stat st;

	if (!fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		fputs("Warning: writing to world accessible file.\n"
		      "Consider setting the umask to 077 and trying again.\n", stderr);
}

static int cmd_keys_print(const uint8_t key[KEY_LEN])
{
	char b64[KEY_B64_LEN + 1];

	key_to_base64(b64, key);
	if (printf("%s\n", b64) < 0 || fflush(stdout)) {
		crypto_wipe(b64, sizeof(b64));
		perror("gangway: write");
		return 1;
	}
	crypto_wipe(b64, sizeof(b64));
	return 0;
}

int cmd_genkey(int argc, char **argv)
{
	uint8_t key[KEY_LEN];
	int ret = cmd_keys_no_args(argc, argv);

	if (ret)
		return ret;
	cmd_keys_warn_readable();
	if (crypto_x25519_genkey(key)) {
		fprintf(stderr, "gangway: failed to generate a key\n");
		return 1;
	}
	ret = cmd_keys_print(key);
	crypto_wipe(key, sizeof(key));
	return ret;
}

int cmd_genpsk(int argc, char **argv)
{
	uint8_t key[KEY_LEN];
	int ret = cmd_keys_no_args(argc, argv);

	if (ret)
		return ret;
	cmd_keys_warn_readable();
	if (crypto_random(key, sizeof(key))) {
		fprintf(stderr, "gangway: failed to read random bytes\n");
		return 1;
	}
	ret = cmd_keys_print(key);
	crypto_wipe(key, sizeof(key));
	return ret;
}

int cmd_pubkey(int argc, char **argv)
{
	char text[1024];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	size_t n;
	int ret = cmd_keys_no_args(argc, argv);

	if (ret)
		return ret;
	n = fread(text, 1, sizeof(text) - 1, stdin);
	text[n] = '\0';
	if (ferror(stdin) || !feof(stdin) || key_read(priv, text)) {
		crypto_wipe(text, sizeof(text));
		fprintf(stderr, "gangway: Key is not the correct length or format\n");
		return 1;
	}
	crypto_wipe(text, sizeof(text));
	ret = crypto_x25519_pubkey(pub, priv);
	crypto_wipe(priv, sizeof(priv));
	if (ret) {
		fprintf(stderr, "gangway: failed to derive the public key\n");
		return 1;
	}
	return cmd_keys_print(pub);
}
