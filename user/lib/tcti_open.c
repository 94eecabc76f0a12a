// SPDX-License-Identifier: BSD-2-Clause
/*
 * Choosing and opening the TPM transport.
 */
#include <string.h>
#include <unistd.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include "tcti_open.h"

#define TW_DEFAULT_FALLBACK "device:/dev/tpmrm0"

enum tw_code tw_tcti_open(struct tw_tcti *t, const char *conf, struct tw_status *st)
{
	TSS2_RC rc;

	memset(t, 0, sizeof(*t));
	if (!conf)
		conf = TW_DEFAULT_FALLBACK;
	rc = Tss2_TctiLdr_Initialize(conf, &t->ctx);
	if (rc != TSS2_RC_SUCCESS)
		return tw_status_set(st, TW_E_TCTI, "TCTI \"%s\": %s", conf, Tss2_RC_Decode(rc));
	t->from_loader = 1;
	return TW_OK;
}

enum tw_code tw_tcti_borrow(struct tw_tcti *t, TSS2_TCTI_CONTEXT *ctx)
{
	memset(t, 0, sizeof(*t));
	t->ctx = ctx;
	t->borrowed = 1;
	return TW_OK;
}

void tw_tcti_close(struct tw_tcti *t)
{
	if (!t->ctx || t->borrowed)
		return;
	if (t->from_loader)
		Tss2_TctiLdr_Finalize(&t->ctx);
	t->ctx = NULL;
}

enum tw_code tw_tcti_window_begin(struct tw_tcti *t, unsigned int timeout_ms,
				  struct tw_status *st)
{
	return TW_OK;
}

enum tw_code tw_tcti_window_end(struct tw_tcti *t, struct tw_status *st)
{
	return TW_OK;
}

enum tw_code tw_status_tcti(struct tw_status *st, TSS2_RC rc, const char *what, int reserved)
{
	return tw_status_set(st, TW_E_TCTI, "%s: TPM transport: %s", what, Tss2_RC_Decode(rc));
}
