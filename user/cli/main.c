// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlswitness: prove what happened in a TLS 1.3 session with the TPM.
 *
 *   tlswitness SUBCOMMAND [ARGS...]
 *   tlswitness help
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const struct tw_subcommand tw_subcommands[] = {
	{ "ak", "[--tcti CONF] -o FILE",
	  "write the attestation key's public key (FILE: PEM, FILE.pub: TPM2B_PUBLIC)",
	  tw_cli_ak },
	{ "prove", "URL [-o FILE] [--tcti CONF] [--nonce HEX] [--ca-file F] [-H 'N: v']... [--data F]",
	  "fetch URL over TLS 1.3 with the key share in the TPM; body to stdout, proof to FILE",
	  tw_cli_prove },
	{ "verify", "PROOF --ak AK [--ca-file F | --ca-path D] [--nonce HEX] [--host NAME] [--json]",
	  "check a proof offline; report what the TPM vouches for, record by record",
	  tw_cli_verify },
};

#define TW_NSUB (sizeof(tw_subcommands) / sizeof(tw_subcommands[0]))

static const struct tw_subcommand *tw_find(const char *name)
{
	size_t i;

	for (i = 0; i < TW_NSUB; i++)
		if (!strcmp(tw_subcommands[i].name, name))
			return &tw_subcommands[i];
	return NULL;
}

int tw_cli_fail(const char *name, const struct tw_status *st)
{
	fprintf(stderr, "tlswitness %s: %s\n", name, st->msg[0] ? st->msg : "failed");
	return st->code == TW_E_USAGE ? TW_EXIT_USAGE : TW_EXIT_FAIL;
}

int tw_cli_usage(const char *name)
{
	const struct tw_subcommand *sub = tw_find(name);

	fprintf(stderr, "usage: tlswitness %s %s\n", name, sub ? sub->args : "");
	return TW_EXIT_USAGE;
}

const char *tw_cli_tcti(const char *opt)
{
	return opt ? opt : getenv("TW_TCTI");
}

static void tw_help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: tlswitness SUBCOMMAND [ARGS...]\n\n");
	for (i = 0; i < TW_NSUB; i++)
		fprintf(f, "  %s %s\n      %s\n", tw_subcommands[i].name, tw_subcommands[i].args,
			tw_subcommands[i].summary);
	fprintf(f, "\nExit status: 0 done, 1 failed, 2 bad command line.\n"
		   "The TPM is --tcti CONF, else $TW_TCTI, else /dev/tpmreserve0 if present,\n"
		   "else /dev/tpmrm0.\n");
}

int main(int argc, char **argv)
{
	const struct tw_subcommand *sub;

	/*
	 * tpm2-tss logs its own failures to stderr; the command reports each
	 * failure once, in its own line.  TSS2_LOG set by the user still wins.
	 */
	setenv("TSS2_LOG", "all+none", 0);
	if (argc < 2) {
		tw_help(stderr);
		return TW_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		tw_help(stdout);
		return TW_EXIT_OK;
	}
	sub = tw_find(argv[1]);
	if (!sub) {
		fprintf(stderr, "tlswitness: unknown subcommand \"%s\" (see tlswitness help)\n",
			argv[1]);
		return TW_EXIT_USAGE;
	}
	return sub->run(argc - 1, argv + 1);
}
