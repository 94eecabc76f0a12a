// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlswitness ak [--tcti CONF] -o FILE
 *
 * Make the AK (Documentation/ak.rst) and write its public key: FILE as a
 * PEM SubjectPublicKeyInfo for a verifier, FILE.pub as the marshalled
 * TPM2B_PUBLIC (which also fixes the AK's attributes and name).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <tlswitness/ak.h>
#include "cli.h"

static enum tw_code tw_write_pub(const char *path, const uint8_t *pub, size_t len,
				 struct tw_status *st)
{
	FILE *f = fopen(path, "wb");
	int bad;

	if (!f)
		return tw_status_set(st, TW_E_IO, "cannot create %s: %s", path, strerror(errno));
	bad = fwrite(pub, 1, len, f) != len;
	bad |= fclose(f) != 0;
	return bad ? tw_status_set(st, TW_E_IO, "cannot write %s: %s", path, strerror(errno))
		   : TW_OK;
}

static enum tw_code tw_write_pem(const char *path, const uint8_t *pub, size_t len,
				 struct tw_status *st)
{
	EVP_PKEY *key = NULL;
	enum tw_code code;
	FILE *f;
	int bad;

	code = tw_ak_public_key(pub, len, &key, st);
	if (code != TW_OK)
		return code;
	f = fopen(path, "w");
	if (!f) {
		EVP_PKEY_free(key);
		return tw_status_set(st, TW_E_IO, "cannot create %s: %s", path, strerror(errno));
	}
	bad = PEM_write_PUBKEY(f, key) != 1;
	bad |= fclose(f) != 0;
	EVP_PKEY_free(key);
	return bad ? tw_status_set(st, TW_E_IO, "cannot write %s: %s", path, strerror(errno))
		   : TW_OK;
}

int tw_cli_ak(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tcti", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tcti = NULL, *out = NULL;
	uint8_t pub[TW_AK_PUBLIC_MAX];
	struct tw_status st = { 0 };
	char *pub_path;
	size_t len = 0;
	int c, ret;

	while ((c = getopt_long(argc, argv, "t:o:h", opts, NULL)) != -1) {
		if (c == 't')
			tcti = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'h')
			return tw_cli_help("ak");
		else
			return tw_cli_usage("ak");
	}
	if (optind != argc) {
		tw_cli_bad_usage("ak", "unexpected argument '%s'", argv[optind]);
		return tw_cli_usage("ak");
	}
	if (!out) {
		tw_cli_bad_usage("ak", "-o FILE is required: where to write the AK's public key");
		return tw_cli_usage("ak");
	}
	if (asprintf(&pub_path, "%s.pub", out) < 0) {
		tw_status_set(&st, TW_E_NOMEM, "out of memory");
		return tw_cli_fail("ak", &st);
	}
	ret = TW_EXIT_USAGE;
	if (tw_cli_check_output("ak", out, true) || tw_cli_check_output("ak", pub_path, true))
		goto out;

	ret = TW_EXIT_OK;
	if (tw_ak_read(tw_cli_tcti(tcti), pub, &len, &st) != TW_OK ||
	    tw_write_pem(out, pub, len, &st) != TW_OK ||
	    tw_write_pub(pub_path, pub, len, &st) != TW_OK)
		ret = tw_cli_fail("ak", &st);
out:
	free(pub_path);
	return ret;
}
