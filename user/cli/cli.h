/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The tlswitness command: one file per subcommand, each adding one line
 * to the table in main.c.  A subcommand gets argv with "tlswitness NAME"
 * in argv[0] (so getopt's own complaints start like every other line),
 * prints at most one line per failure to stderr (tw_cli_fail) and returns
 * one of the exit codes below.  Every subcommand takes --help; main.c
 * turns "tlswitness NAME help" and "tlswitness help NAME" into it.
 */
#ifndef TW_CLI_H
#define TW_CLI_H

#include <stdbool.h>
#include <tlswitness/status.h>

/* Exit codes of every subcommand (Documentation/cli.rst). */
enum tw_exit {
	TW_EXIT_OK = 0,		/* done; for verify: the proof verified */
	TW_EXIT_FAIL = 1,	/* ran and failed: TPM, TLS, I/O, or verification rejected */
	TW_EXIT_USAGE = 2,	/* bad command line */
};

struct tw_subcommand {
	const char *name;
	const char *args;	/* one-line synopsis of the arguments */
	const char *summary;	/* one line, for `tlswitness help` */
	int (*run)(int argc, char **argv);
};

/* tw_cli_fail - print "tlswitness NAME: MESSAGE" and return the exit code for @st. */
int tw_cli_fail(const char *name, const struct tw_status *st);
/* tw_cli_usage - print the subcommand's synopsis to stderr; returns TW_EXIT_USAGE. */
int tw_cli_usage(const char *name);
/* tw_cli_help - print the subcommand's synopsis to stdout; returns TW_EXIT_OK. */
int tw_cli_help(const char *name);
/*
 * tw_cli_bad_usage - print "tlswitness NAME: MESSAGE", the one line that
 * says what is wrong with the command line (a missing argument, say) before
 * the synopsis; returns TW_EXIT_USAGE.
 */
int tw_cli_bad_usage(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * tw_cli_check_output - before any TPM or network work, check that the
 * file @path can be written: it is not a directory, and its directory
 * exists and may be written, or, when the file is written @in_place and
 * exists already, the file may be written.  A file that is not written in
 * place is replaced by a rename in its directory, so it must be a regular
 * file if it exists (not /dev/null).  If not, print one line
 * naming @path and the reason and return TW_EXIT_USAGE; else 0.  Writing
 * can still fail later (a full disk); this spares the user a whole
 * session for a typo.
 */
int tw_cli_check_output(const char *name, const char *path, bool in_place);
/* tw_cli_tcti - @opt from --tcti if given, else $TW_TCTI, else NULL (the default). */
const char *tw_cli_tcti(const char *opt);

int tw_cli_ak(int argc, char **argv);
int tw_cli_prove(int argc, char **argv);
int tw_cli_verify(int argc, char **argv);

#endif
