/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal: open the TPM transport a window runs on.  "tpmreserve" names
 * the reserved channel (our own TCTI, linked in); anything else goes to
 * tss2-tctildr.
 */
#ifndef TW_TCTI_OPEN_H
#define TW_TCTI_OPEN_H

#include <tss2/tss2_tcti.h>
#include <tlswitness/status.h>

struct tw_tcti {
	TSS2_TCTI_CONTEXT *ctx;
	int reserved;	/* the tpmreserve TCTI: windows are real */
	int from_loader;	/* finalize through tss2-tctildr */
	int borrowed;	/* the caller's: never finalized here */
};

enum tw_code tw_tcti_open(struct tw_tcti *t, const char *conf, struct tw_status *st);
/* tw_tcti_borrow - use a caller's open TCTI; closing it then leaves it open. */
enum tw_code tw_tcti_borrow(struct tw_tcti *t, TSS2_TCTI_CONTEXT *ctx);
void tw_tcti_close(struct tw_tcti *t);
/* On the reserved channel, begin and end the module's window; no-ops elsewhere. */
enum tw_code tw_tcti_window_begin(struct tw_tcti *t, unsigned int timeout_ms,
				  struct tw_status *st);
enum tw_code tw_tcti_window_end(struct tw_tcti *t, struct tw_status *st);
/* A TCTI failure as a status; on the reserved channel an expired window is TW_E_WINDOW. */
enum tw_code tw_status_tcti(struct tw_status *st, TSS2_RC rc, const char *what,
			    struct tw_tcti *t);

#endif
