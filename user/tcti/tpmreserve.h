/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The tpmreserve TCTI: tpm2-tss transport over /dev/tpmreserve0, the
 * tpmreserve module's reserved channel (Documentation/tpmreserve.rst).
 * Commands and responses pass as on /dev/tpm0; a window must be open.
 *
 * Inside libtlswitness the window is begun and ended explicitly.  Loaded
 * by tss2-tctildr (tpm2-tools -T tpmreserve[:CONF]), the TCTI begins a
 * window before its first command and ends it when finalized.
 */
#ifndef TW_TCTI_TPMRESERVE_H
#define TW_TCTI_TPMRESERVE_H

#include <stdint.h>
#include <tss2/tss2_tcti.h>

#define TW_TPMRESERVE_DEVICE "/dev/tpmreserve0"

/*
 * Tss2_Tcti_Tpmreserve_Init - the TCTI init function.  @conf is
 * "[PATH][,timeout=MS][,manual]": the device (default /dev/tpmreserve0),
 * the window length asked for by the automatic begin (0: the module's
 * maximum), and "manual" to turn the automatic begin and end off.
 */
TSS2_RC Tss2_Tcti_Tpmreserve_Init(TSS2_TCTI_CONTEXT *ctx, size_t *size, const char *conf);

/* The symbol tss2-tctildr looks up in libtss2-tcti-tpmreserve.so. */
const TSS2_TCTI_INFO *Tss2_Tcti_Info(void);

/* tw_tpmreserve_is - is @ctx a tpmreserve TCTI context? */
int tw_tpmreserve_is(TSS2_TCTI_CONTEXT *ctx);
/* Begin a window of @timeout_ms (0: the module's maximum); @granted_ms may be NULL. */
TSS2_RC tw_tpmreserve_begin(TSS2_TCTI_CONTEXT *ctx, uint32_t timeout_ms, uint32_t *granted_ms);
/* End the window; @how gets TPMRESERVE_END_* (may be NULL). */
TSS2_RC tw_tpmreserve_end(TSS2_TCTI_CONTEXT *ctx, uint32_t *how);
/* The errno of the last failed device call (ETIME: the window expired). */
int tw_tpmreserve_errno(TSS2_TCTI_CONTEXT *ctx);

#endif
