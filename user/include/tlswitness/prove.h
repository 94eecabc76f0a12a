/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The prover: one HTTPS request over TLS 1.3 whose P-256 key share is
 * born and used inside the TPM (DESIGN.md section 2), recorded byte by
 * byte and turned into a proof (tlswitness/proof.h).
 */
#ifndef TLSWITNESS_PROVE_H
#define TLSWITNESS_PROVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tlswitness/status.h>
#include <tlswitness/proof.h>

/*
 * Default quiet time that ends the pull of the server's first flight
 * before ZGen (see Documentation/proof-format.rst, "Committed bytes").
 */
#define TW_PROVE_SETTLE_US	500
/*
 * Once the server's Finished has arrived, the flight is over: only data
 * the server wrote right behind it (0.5-RTT) can still be on its way, so
 * the default settle time shrinks to this.  A settle time the caller
 * sets (settle_us) is always waited whole.
 */
#define TW_PROVE_SETTLE_AFTER_FINISHED_US	100
#define TW_PROVE_IO_TIMEOUT_MS	10000
/*
 * The most server bytes a proof records: their base64 and the records'
 * fields stay under the proof format's 256 MiB (TW_PROOF_MAX_BYTES).
 */
#define TW_PROVE_MAX_SERVER_BYTES	(128u << 20)
#define TW_PROVE_WINDOW_MS	10000
#define TW_PROVE_RETRIES	5

struct tw_prove_opts {
	const char *url;		/* https://host[:port]/path */
	const char *tcti;		/* NULL: reserved channel if present, else fallback */
	const uint8_t *nonce;		/* the verifier's nonce, up to 64 bytes */
	size_t nonce_len;
	const char *ca_file;		/* NULL: the system's trust store */
	const char *const *headers;	/* extra "Name: value" request headers */
	size_t header_count;
	const uint8_t *body;		/* non-NULL: POST this body, else GET */
	size_t body_len;
	unsigned int settle_us;		/* 0: TW_PROVE_SETTLE_US */
	unsigned int io_timeout_ms;	/* 0: TW_PROVE_IO_TIMEOUT_MS */
	unsigned int window_ms;		/* 0: TW_PROVE_WINDOW_MS */
	int max_retries;		/* <0: TW_PROVE_RETRIES; attempts after the first */
	/*
	 * Benchmark baseline: the same fetch with a software P-256 key share
	 * and no TPM at all; no proof.
	 */
	bool plain;
	/* Called with one line for a fallback warning or a retry (may be NULL). */
	void (*note)(void *arg, const char *line);
	void *note_arg;
};

/* Where an attempt stopped; the CLI maps it to an exit code. */
enum tw_prove_stage {
	TW_STAGE_USAGE = 1,
	TW_STAGE_RESOLVE,
	TW_STAGE_CONNECT,
	TW_STAGE_TPM,
	TW_STAGE_TLS,
	TW_STAGE_HTTP,
	TW_STAGE_PROOF,
	TW_STAGE_DONE,
};

/* Times of the successful attempt, in ns. */
struct tw_prove_stats {
	uint64_t total_ns;	/* the whole attempt, from name resolution to the proof */
	uint64_t window_ns;	/* from tw_window_begin returning to tw_window_end returning */
	uint64_t tpm_ns;	/* inside the TCTI, within the window */
	uint64_t net_ns;	/* blocked on the socket, within the window */
	uint64_t settle_ns;	/* part of net_ns spent waiting for the flight to settle */
};

struct tw_prove_result {
	int http_status;
	uint8_t *body;
	size_t body_len;
	struct tw_proof proof;	/* valid when tw_prove() returned TW_OK (not in plain mode) */
	enum tw_prove_stage stage;
	struct tw_prove_stats stats;
};

/*
 * tw_prove - fetch @opts->url and build its proof in @res.  The proof is
 * checked before it is returned: the replayed audit digest equals the
 * signed one, the session was exclusive, the key share was the TPM's.
 */
enum tw_code tw_prove(const struct tw_prove_opts *opts, struct tw_prove_result *res,
		      struct tw_status *st);
void tw_prove_result_release(struct tw_prove_result *res);

#endif
