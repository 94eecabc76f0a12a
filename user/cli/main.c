// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlswitness: prove what happened in a TLS 1.3 session with the TPM.
 *
 *   tlswitness SUBCOMMAND [ARGS...]
 *   tlswitness help [SUBCOMMAND]
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cli.h"

static const struct tw_subcommand tw_subcommands[] = {
	{ "ak", "[--tcti CONF] -o FILE",
	  "write the attestation key's public key (FILE: PEM, FILE.pub: TPM2B_PUBLIC)",
	  tw_cli_ak },
	{ "prove", "URL [-o FILE] [--tcti CONF] [--nonce HEX] [--ca-file F] [-H 'N: v']... [--data F]",
	  "fetch URL over TLS 1.3 with the key share in the TPM; body to stdout, proof to FILE",
	  tw_cli_prove },
	{ "verify", "PROOF --ak AK [--ca-file F | --ca-path D] [--nonce HEX] [--host NAME]\n"
		    "         [--time SECONDS] [--json]",
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

static void tw_synopsis(FILE *f, const char *name)
{
	const struct tw_subcommand *sub = tw_find(name);

	fprintf(f, "usage: tlswitness %s %s\n", name, sub ? sub->args : "");
}

int tw_cli_usage(const char *name)
{
	tw_synopsis(stderr, name);
	return TW_EXIT_USAGE;
}

int tw_cli_help(const char *name)
{
	tw_synopsis(stdout, name);
	return TW_EXIT_OK;
}

int tw_cli_bad_usage(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tlswitness %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return TW_EXIT_USAGE;
}

/* Why no file can be created in @dir, or NULL if one can. */
static const char *tw_dir_unwritable(const char *dir, char *why, size_t len)
{
	struct stat sb;

	if (stat(dir, &sb)) {
		if (errno == ENOENT)
			snprintf(why, len, "directory %s does not exist", dir);
		else
			snprintf(why, len, "%s: %s", dir, strerror(errno));
		return why;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(why, len, "%s is not a directory", dir);
		return why;
	}
	if (access(dir, W_OK | X_OK)) {
		snprintf(why, len, "cannot create files in %s: %s", dir, strerror(errno));
		return why;
	}
	return NULL;
}

int tw_cli_check_output(const char *name, const char *path, bool in_place)
{
	const char *slash = strrchr(path, '/');
	char why[300], *dir;
	struct stat sb;
	bool bad;

	if (!*path)
		return tw_cli_bad_usage(name, "the output file name is empty");
	if (slash && !slash[1])
		return tw_cli_bad_usage(name, "cannot write %s: it names a directory", path);
	if (!stat(path, &sb) && S_ISDIR(sb.st_mode))
		return tw_cli_bad_usage(name, "cannot write %s: it is a directory", path);
	if (in_place && !access(path, F_OK)) {
		if (access(path, W_OK))
			return tw_cli_bad_usage(name, "cannot write %s: %s", path, strerror(errno));
		return 0;
	}
	/* A rename would replace a device or a FIFO, even /dev/null, for root. */
	if (!in_place && !stat(path, &sb) && !S_ISREG(sb.st_mode))
		return tw_cli_bad_usage(name, "cannot write %s: not a regular file, and the new "
				      "file would replace it", path);

	if (!slash)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!dir)
		return tw_cli_bad_usage(name, "out of memory");
	bad = tw_dir_unwritable(dir, why, sizeof(why)) != NULL;
	free(dir);
	if (bad)
		return tw_cli_bad_usage(name, "cannot write %s: %s", path, why);
	return 0;
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
	fprintf(f, "\n'tlswitness help SUBCOMMAND' or 'tlswitness SUBCOMMAND --help' shows its "
		   "options.\n"
		   "Exit status (tlswitness(1) has each): 0 done, 2 bad command line;\n"
		   "  ak:     1 failed\n"
		   "  prove:  3 network, 4 TLS, 5 TPM, 6 proof or output, 7 HTTP\n"
		   "  verify: 1 a check failed, 3 malformed proof, 4 a file could not be read\n"
		   "The TPM is --tcti CONF, else $TW_TCTI, else /dev/tpmreserve0 if present,\n"
		   "else /dev/tpmrm0.\n");
}

static bool tw_is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

/*
 * Run @sub with "tlswitness NAME" in argv[0], so that getopt's own lines
 * ("unrecognized option") start the way the manual page promises.  With
 * @help, or "help" as the only argument, run it with --help instead.
 */
static int tw_run(const struct tw_subcommand *sub, int argc, char **argv, bool help)
{
	char prog[64], help_opt[] = "--help";
	char *help_argv[] = { prog, help_opt, NULL };

	snprintf(prog, sizeof(prog), "tlswitness %s", sub->name);
	if (help || (argc == 2 && !strcmp(argv[1], "help")))
		return sub->run(2, help_argv);
	argv[0] = prog;
	return sub->run(argc, argv);
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
	if (tw_is_help(argv[1]) && argc == 2) {
		tw_help(stdout);
		return TW_EXIT_OK;
	}
	sub = tw_find(tw_is_help(argv[1]) ? argv[2] : argv[1]);
	if (!sub) {
		fprintf(stderr, "tlswitness: unknown subcommand \"%s\" (see tlswitness help)\n",
			tw_is_help(argv[1]) ? argv[2] : argv[1]);
		return TW_EXIT_USAGE;
	}
	if (tw_is_help(argv[1]))
		return tw_run(sub, 0, NULL, true);
	return tw_run(sub, argc - 1, argv + 1, false);
}
