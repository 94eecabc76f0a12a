/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Typed status shared by every libtlswitness call.  The library never
 * prints, exits or aborts on input: a failing call fills a tw_status whose
 * message names the failed step or check in words.
 */
#ifndef TLSWITNESS_STATUS_H
#define TLSWITNESS_STATUS_H

#include <stdint.h>

enum tw_code {
	TW_OK = 0,
	TW_E_USAGE,	/* a bad argument from the caller */
	TW_E_NOMEM,	/* allocation failed */
	TW_E_IO,	/* file, device or network I/O */
	TW_E_TCTI,	/* the TPM transport failed */
	TW_E_TPM,	/* the TPM answered with an error (tpm_rc set) */
	TW_E_EXCLUSIVE,	/* the audit session lost exclusivity (TPM_RC_EXCLUSIVE) */
	TW_E_WINDOW,	/* the reserved window expired or could not be begun */
	TW_E_TLS,	/* the TLS session failed */
	TW_E_PROOF,	/* a proof file is malformed or not understood */
	TW_E_VERIFY,	/* a verification check failed */
};

struct tw_status {
	enum tw_code code;
	uint32_t tpm_rc;	/* TPM response code when code is TW_E_TPM/EXCLUSIVE */
	char msg[256];		/* one line naming what failed */
};

/* tw_status_set - fill @st (if not NULL) and return @code. */
enum tw_code tw_status_set(struct tw_status *st, enum tw_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * tw_status_tpm - fill @st for TPM response code @rc, decoded with tss2-rc,
 * prefixed by @what ("ZGen"); TPM_RC_EXCLUSIVE gives TW_E_EXCLUSIVE.
 */
enum tw_code tw_status_tpm(struct tw_status *st, uint32_t rc, const char *what);

#endif
