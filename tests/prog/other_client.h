/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Another TPM user for the host tests.  swtpm serves one connection at a
 * time, so the other user is a second tss2-sys context on the window's
 * own TCTI: at the TPM it is just another client's command in between.
 */
#ifndef TW_OTHER_CLIENT_H
#define TW_OTHER_CLIENT_H

#include <stdlib.h>
#include <tss2/tss2_sys.h>

/* A tss2-sys context of its own on @tcti, or NULL; free() it. */
static inline TSS2_SYS_CONTEXT *other_client_new(TSS2_TCTI_CONTEXT *tcti)
{
	size_t size = Tss2_Sys_GetContextSize(0);
	TSS2_SYS_CONTEXT *sys = calloc(1, size);
	TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;

	if (sys && Tss2_Sys_Initialize(sys, size, tcti, &abi) != TSS2_RC_SUCCESS) {
		free(sys);
		return NULL;
	}
	return sys;
}

/* An unaudited TPM2_GetRandom that succeeds: the audit session is no longer exclusive. */
static inline TSS2_RC other_client_getrandom(TSS2_SYS_CONTEXT *sys)
{
	TPM2B_DIGEST bytes = { 0 };

	return Tss2_Sys_GetRandom(sys, NULL, 8, &bytes, NULL);
}

#endif
