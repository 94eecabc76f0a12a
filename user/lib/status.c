// SPDX-License-Identifier: BSD-2-Clause
/*
 * Typed status: every libtlswitness call that can fail fills one of these
 * and returns its code.  The library itself never prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tpm2_types.h>
#include <tlswitness/status.h>

enum tw_code tw_status_set(struct tw_status *st, enum tw_code code, const char *fmt, ...)
{
	va_list ap;

	if (!st)
		return code;
	st->code = code;
	st->tpm_rc = 0;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
	return code;
}

enum tw_code tw_status_tpm(struct tw_status *st, uint32_t rc, const char *what)
{
	enum tw_code code = TW_E_TPM;

	/* TPM_RC_EXCLUSIVE is a format-zero code: it never carries a number. */
	if (rc == TPM2_RC_EXCLUSIVE)
		code = TW_E_EXCLUSIVE;
	if (!st)
		return code;
	tw_status_set(st, code, "%s: %s (0x%x)", what, Tss2_RC_Decode(rc), rc);
	st->tpm_rc = rc;
	return code;
}
