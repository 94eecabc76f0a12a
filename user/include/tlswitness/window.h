/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The audited proving sequence of DESIGN.md section 2, one call per step.
 * A window is one attempt: begin, setup, create_key, commit..., zgen,
 * commit..., attest, end.  The TLS side (the provider) calls create_key
 * when libssl generates its key share and commit + zgen when it derives.
 */
#ifndef TLSWITNESS_WINDOW_H
#define TLSWITNESS_WINDOW_H

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tcti.h>
#include <tlswitness/status.h>
#include <tlswitness/audit.h>

struct tw_window;

struct tw_window_opts {
	/*
	 * tpm2-tss TCTI configuration ("swtpm:host=127.0.0.1,port=2321",
	 * "device:/dev/tpmrm0", "tpmreserve:/dev/tpmreserve0").  NULL picks
	 * the reserved channel if /dev/tpmreserve0 exists, else /dev/tpmrm0
	 * in fallback mode.
	 */
	const char *tcti;
	unsigned int timeout_ms;	/* window length on the reserved channel */
	/*
	 * An open transport to use instead of @tcti (not owned, never
	 * finalized by the window; the window is then never reserved).
	 * Tests use it to put another TPM user on the same connection.
	 */
	TSS2_TCTI_CONTEXT *tcti_context;
	/* Make the key with TPM2_Create + TPM2_Load even where TPM2_CreateLoaded exists. */
	int create_and_load;
};

/* Open the TPM connection and, on the reserved channel, begin the window. */
enum tw_code tw_window_begin(struct tw_window **w, const struct tw_window_opts *opts,
			     struct tw_status *st);
/* Not audited: audit-only HMAC session, storage parent, AK. */
enum tw_code tw_window_setup(struct tw_window *w, struct tw_status *st);
/* CreateLoaded under auditReset; @pub gets the uncompressed P-256 point. */
enum tw_code tw_window_create_key(struct tw_window *w, uint8_t pub[65], struct tw_status *st);
/* An audited command carrying @digest (SHA-256 of the bytes committed). */
enum tw_code tw_window_commit(struct tw_window *w, const uint8_t digest[32],
			      struct tw_status *st);
/* ECDH_ZGen with auditExclusive; @z gets the 32-byte X coordinate. */
enum tw_code tw_window_zgen(struct tw_window *w, const uint8_t peer[65], uint8_t z[32],
			    struct tw_status *st);
/* GetSessionAuditDigest signed by the AK over @qualifying. */
enum tw_code tw_window_attest(struct tw_window *w, const uint8_t *qualifying, size_t len,
			      struct tw_status *st);
/* Flush what the window made and end it; safe after any failure. */
enum tw_code tw_window_end(struct tw_window *w, struct tw_status *st);
void tw_window_free(struct tw_window *w);

/* True when the window runs on the reserved channel (0x121 is then a hard error). */
int tw_window_reserved(const struct tw_window *w);
/* The raw log of every command and response since begin. */
const struct tw_audit_log *tw_window_log(const struct tw_window *w);
/* After attest: the TPM2B_ATTEST contents and the TPMT_SIGNATURE, marshalled. */
enum tw_code tw_window_attestation(const struct tw_window *w, const uint8_t **attest,
				   size_t *attest_len, const uint8_t **sig, size_t *sig_len);
/* The AK's TPM2B_PUBLIC, marshalled (available after setup). */
enum tw_code tw_window_ak_public(const struct tw_window *w, const uint8_t **pub, size_t *len);
/* Time spent inside the TCTI transmit/receive since begin, in ns. */
uint64_t tw_window_tpm_ns(const struct tw_window *w);

/*
 * Retrying attempts without the reserved channel.  A TLS handshake cannot
 * be resumed mid-way, so an attempt that lost exclusivity is abandoned and
 * the caller's whole attempt (window and handshake) runs again.
 */
typedef enum tw_code (*tw_attempt_fn)(void *arg, unsigned int attempt, struct tw_status *st);
/* One line per retry, for the caller to print or drop (the library never prints). */
typedef void (*tw_log_fn)(void *log_arg, const char *line);

/*
 * tw_attempt_run - call @fn (attempt 1, 2, ...) until it returns anything
 * but TW_E_EXCLUSIVE, at most @max times, logging each retry to @log.
 * Returns the last attempt's code; after @max lost attempts, TW_E_EXCLUSIVE.
 * On the reserved channel the window reports TPM_RC_EXCLUSIVE as TW_E_TPM,
 * so it is never retried.
 */
enum tw_code tw_attempt_run(unsigned int max, tw_attempt_fn fn, void *arg, tw_log_fn log,
			    void *log_arg, struct tw_status *st);

#endif
