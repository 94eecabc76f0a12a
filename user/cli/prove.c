// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlswitness prove URL [-o FILE] [--tcti CONF] [--nonce HEX] [--ca-file F]
 *                      [-H 'Name: value']... [--data FILE]
 *
 * One HTTPS request with the key share in the TPM; the response body goes
 * to stdout and the proof to FILE, both only when everything succeeded.
 * Exit codes are listed in Documentation/tlswitness.1 and below.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tlswitness/prove.h>

#include "cli.h"

/*
 * prove names the kind of failure in its exit code; 0 and 2 keep their
 * meaning for every subcommand (cli.h), 1 is never used by prove.
 */
enum {
	EXIT_PROVE_OK = TW_EXIT_OK,
	EXIT_PROVE_USAGE = TW_EXIT_USAGE,
	EXIT_PROVE_NETWORK = 3,
	EXIT_PROVE_TLS = 4,
	EXIT_PROVE_TPM = 5,
	EXIT_PROVE_PROOF = 6,
	EXIT_PROVE_HTTP = 7,
};

#define MAX_HEADERS	64
#define MAX_DATA	(64u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: tlswitness prove URL [-o FILE] [--tcti CONF] [--nonce HEX] "
		   "[--ca-file FILE]\n"
		   "                        [-H 'Name: value']... [--data FILE] [--settle-us N]\n"
		   "                        [--timeout-ms N] [--window-ms N] [--retries N] [-v]\n");
}

static void print_note(void *arg, const char *line)
{
	fprintf(stderr, "tlswitness prove: %s\n", line);
}

static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > max || n == 0)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return -1;
		out[i] = v;
	}
	*len = n / 2;
	return 0;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The whole of FILE ("-" for stdin), at most 64 MiB. */
static int read_data(const char *path, uint8_t **buf, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	size_t cap = 4096;

	*len = 0;
	*buf = malloc(cap);
	if (fd < 0 || !*buf)
		goto fail;
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			uint8_t *p = cap < MAX_DATA ? realloc(*buf, 2 * cap) : NULL;

			if (!p)
				goto fail;
			*buf = p;
			cap *= 2;
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		*len += n;
	}
	if (fd > 0)
		close(fd);
	return 0;
fail:
	if (fd > 0)
		close(fd);
	free(*buf);
	*buf = NULL;
	return -1;
}

static int write_body(const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(1, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int exit_code(enum tw_prove_stage stage)
{
	switch (stage) {
	case TW_STAGE_USAGE:
		return EXIT_PROVE_USAGE;
	case TW_STAGE_RESOLVE:
	case TW_STAGE_CONNECT:
		return EXIT_PROVE_NETWORK;
	case TW_STAGE_TLS:
		return EXIT_PROVE_TLS;
	case TW_STAGE_TPM:
		return EXIT_PROVE_TPM;
	case TW_STAGE_HTTP:
		return EXIT_PROVE_HTTP;
	default:
		return EXIT_PROVE_PROOF;
	}
}

int tw_cli_prove(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "tcti", required_argument, NULL, 'T' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "header", required_argument, NULL, 'H' },
		{ "data", required_argument, NULL, 'd' },
		{ "settle-us", required_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "window-ms", required_argument, NULL, 'w' },
		{ "retries", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tw_prove_opts o = { .max_retries = -1, .note = print_note };
	const char *headers[MAX_HEADERS], *out = "proof.json", *data = NULL;
	uint8_t nonce[TW_PROOF_MAX_NONCE], *body = NULL;
	struct tw_prove_result res;
	struct tw_status st = { 0 };
	unsigned int retries;
	bool verbose = false;
	int c, ret, longindex = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:H:vh", longopts, &longindex)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'T':
			o.tcti = optarg;
			break;
		case 'n':
			if (parse_hex(optarg, nonce, sizeof(nonce), &o.nonce_len)) {
				fprintf(stderr, "tlswitness prove: --nonce takes 1 to 64 bytes "
						"in hex\n");
				return EXIT_PROVE_USAGE;
			}
			o.nonce = nonce;
			break;
		case 'c':
			o.ca_file = optarg;
			break;
		case 'H':
			if (o.header_count == MAX_HEADERS) {
				fprintf(stderr, "tlswitness prove: more than %d headers\n",
					MAX_HEADERS);
				return EXIT_PROVE_USAGE;
			}
			headers[o.header_count++] = optarg;
			break;
		case 'd':
			data = optarg;
			break;
		case 's':
		case 't':
		case 'w':
		case 'r':
			if (parse_uint(optarg, c == 'r' ? 100 : 600000,
				       c == 's' ? &o.settle_us : c == 't' ? &o.io_timeout_ms
						: c == 'w' ? &o.window_ms : &retries)) {
				fprintf(stderr, "tlswitness prove: --%s takes a number from 0 "
						"to %u, not '%s'\n", longopts[longindex].name,
					c == 'r' ? 100 : 600000, optarg);
				return EXIT_PROVE_USAGE;
			}
			if (c == 'r')
				o.max_retries = retries;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_PROVE_OK;
		default:
			usage(stderr);
			return EXIT_PROVE_USAGE;
		}
	}
	if (optind != argc - 1) {
		if (optind == argc)
			tw_cli_bad_usage("prove", "no URL given");
		else
			tw_cli_bad_usage("prove", "one URL only, not also '%s'", argv[optind + 1]);
		usage(stderr);
		return EXIT_PROVE_USAGE;
	}
	o.url = argv[optind];
	o.headers = headers;
	o.tcti = tw_cli_tcti(o.tcti);

	/* Nothing is sent and the TPM is not touched until the proof can be written. */
	if (tw_cli_check_output("prove", out, false))
		return EXIT_PROVE_USAGE;
	if (data) {
		if (read_data(data, &body, &o.body_len)) {
			fprintf(stderr, "tlswitness prove: cannot read %s: %s\n", data,
				errno ? strerror(errno) : "larger than 64 MiB");
			return EXIT_PROVE_USAGE;
		}
		o.body = body;
	}

	if (tw_prove(&o, &res, &st) != TW_OK) {
		fprintf(stderr, "tlswitness prove: %s\n", st.msg);
		ret = exit_code(res.stage);
		goto out;
	}
	if (tw_proof_write_file(&res.proof, out, &st) != TW_OK) {
		fprintf(stderr, "tlswitness prove: %s\n", st.msg);
		ret = EXIT_PROVE_PROOF;
		goto out;
	}
	if (write_body(res.body, res.body_len)) {
		fprintf(stderr, "tlswitness prove: cannot write the body to stdout: %s\n",
			strerror(errno));
		ret = EXIT_PROVE_PROOF;
		goto out;
	}
	if (res.http_status < 200 || res.http_status > 299)
		fprintf(stderr, "tlswitness prove: note: the server answered HTTP %d\n",
			res.http_status);
	if (verbose)
		fprintf(stderr,
			"tlswitness prove: proof %s: HTTP %d, %zu records, %s channel, %u retries, "
			"window %.3f ms (TPM %.3f ms, network %.3f ms)\n",
			out, res.http_status, res.proof.record_count,
			res.proof.channel == TW_CHANNEL_RESERVED ? "reserved" : "fallback",
			res.proof.retries, res.stats.window_ns / 1e6, res.stats.tpm_ns / 1e6,
			res.stats.net_ns / 1e6);
	ret = EXIT_PROVE_OK;
out:
	tw_prove_result_release(&res);
	free(body);
	return ret;
}
