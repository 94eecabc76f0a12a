// SPDX-License-Identifier: BSD-2-Clause
/*
 * Choosing and opening the TPM transport: the reserved channel when the
 * tpmreserve module is there, else the kernel's resource manager in
 * fallback mode, else whatever tpm2-tss TCTI the caller names.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <linux/tpmreserve.h>
#include "tcti_open.h"
#include "../tcti/tpmreserve.h"

#define TW_DEFAULT_FALLBACK "device:/dev/tpmrm0"

/*
 * A TPM device that would not open, in words that say what to do: the
 * device TCTI itself reports only "IO failure".  @path is the device node,
 * @reserved whether it is the tpmreserve module's.
 */
static enum tw_code tw_tcti_device_failed(struct tw_status *st, const char *path,
					  bool reserved)
{
	int err = access(path, R_OK | W_OK) ? errno : 0;

	if (err == ENOENT && reserved)
		return tw_status_set(st, TW_E_TCTI,
				     "%s does not exist: the tpmreserve module is not loaded (as "
				     "root: insmod kmod/tpmreserve.ko; see "
				     "Documentation/admin-guide.rst)", path);
	if (err == ENOENT)
		return tw_status_set(st, TW_E_TCTI,
				     "%s does not exist: this machine has no TPM 2.0 or its driver "
				     "is not loaded; name another TPM with --tcti, or run make demo "
				     "for a VM with a virtual TPM", path);
	if (err == EACCES)
		return tw_status_set(st, TW_E_TCTI, "cannot open %s: permission denied; run as "
				     "root, or grant the device with a udev rule (Documentation/"
				     "admin-guide.rst)", path);
	return tw_status_set(st, TW_E_TCTI, "cannot open %s: %s", path,
			     strerror(err ? err : EIO));
}

/*
 * A TCTI that tss2-tctildr would not open, in words that say what to do:
 * the loader reports "Functionality not supported" for a name it finds no
 * libtss2-tcti-NAME for, and "IO failure" for a simulator that does not
 * listen.  tss2-rc's text stays in the line for anyone who knows it.
 */
static enum tw_code tw_tcti_loader_failed(struct tw_status *st, const char *conf, TSS2_RC rc)
{
	int name_len = (int)strcspn(conf, ":");
	const char *hint = "";

	if (rc == TSS2_TCTI_RC_NOT_SUPPORTED)
		return tw_status_set(st, TW_E_TCTI,
				     "unknown TCTI '%.*s': tpm2-tss has no libtss2-tcti-%.*s; try "
				     "device:/dev/tpmrm0, swtpm:host=HOST,port=PORT or tpmreserve",
				     name_len, conf, name_len, conf);
	if (rc == TSS2_TCTI_RC_BAD_VALUE)
		return tw_status_set(st, TW_E_TCTI, "bad TCTI configuration '%s' (%s)", conf,
				     Tss2_RC_Decode(rc));
	if (rc == TSS2_TCTI_RC_IO_ERROR && name_len == 5 && !strncmp(conf, "swtpm", 5))
		hint = ": is swtpm running?";
	else if (rc == TSS2_TCTI_RC_IO_ERROR && name_len == 5 && !strncmp(conf, "mssim", 5))
		hint = ": is the TPM simulator running?";
	return tw_status_set(st, TW_E_TCTI, "cannot connect to the TPM at %s (%s)%s", conf,
			     Tss2_RC_Decode(rc), hint);
}

/* Our own TCTI, linked in: "tpmreserve" or "tpmreserve:PATH[,OPTION]...". */
static enum tw_code tw_tcti_open_reserved(struct tw_tcti *t, const char *conf,
					  struct tw_status *st)
{
	char own[300], path[256];
	size_t size = 0;
	TSS2_RC rc;

	if (!conf || !*conf || *conf == ',')
		snprintf(path, sizeof(path), "%s", TW_TPMRESERVE_DEVICE);
	else
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(conf, ","), conf);

	/* The window decides when the module's window begins and ends. */
	snprintf(own, sizeof(own), "%s,manual", conf && *conf ? conf : TW_TPMRESERVE_DEVICE);
	Tss2_Tcti_Tpmreserve_Init(NULL, &size, NULL);
	t->ctx = calloc(1, size);
	if (!t->ctx)
		return tw_status_set(st, TW_E_NOMEM, "tpmreserve TCTI: out of memory");
	rc = Tss2_Tcti_Tpmreserve_Init(t->ctx, &size, own);
	if (rc != TSS2_RC_SUCCESS) {
		free(t->ctx);
		t->ctx = NULL;
		if (rc == TSS2_TCTI_RC_BAD_VALUE)
			return tw_status_set(st, TW_E_TCTI, "cannot open the reserved channel "
					     "\"%s\": bad configuration", path);
		return tw_tcti_device_failed(st, path, true);
	}
	t->reserved = 1;
	return TW_OK;
}

enum tw_code tw_tcti_open(struct tw_tcti *t, const char *conf, struct tw_status *st)
{
	TSS2_RC rc;

	memset(t, 0, sizeof(*t));
	if (!conf && access(TW_TPMRESERVE_DEVICE, R_OK | W_OK) == 0)
		return tw_tcti_open_reserved(t, NULL, st);
	if (conf && !strcmp(conf, "tpmreserve"))
		return tw_tcti_open_reserved(t, NULL, st);
	if (conf && !strncmp(conf, "tpmreserve:", 11))
		return tw_tcti_open_reserved(t, conf + 11, st);
	if (!conf)
		conf = TW_DEFAULT_FALLBACK;
	rc = Tss2_TctiLdr_Initialize(conf, &t->ctx);
	if (rc != TSS2_RC_SUCCESS && !strncmp(conf, "device:", 7) && conf[7] &&
	    !strchr(conf + 7, ','))
		return tw_tcti_device_failed(st, conf + 7, false);
	if (rc != TSS2_RC_SUCCESS)
		return tw_tcti_loader_failed(st, conf, rc);
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
	if (t->from_loader) {
		Tss2_TctiLdr_Finalize(&t->ctx);
	} else {
		Tss2_Tcti_Finalize(t->ctx);
		free(t->ctx);
	}
	t->ctx = NULL;
}

enum tw_code tw_tcti_window_begin(struct tw_tcti *t, unsigned int timeout_ms,
				  struct tw_status *st)
{
	TSS2_RC rc;

	if (!t->reserved)
		return TW_OK;
	rc = tw_tpmreserve_begin(t->ctx, timeout_ms, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tw_status_set(st, TW_E_WINDOW, "cannot begin the reserved window: %s",
				     strerror(tw_tpmreserve_errno(t->ctx)));
	return TW_OK;
}

enum tw_code tw_tcti_window_end(struct tw_tcti *t, struct tw_status *st)
{
	TSS2_RC rc;
	uint32_t how = TPMRESERVE_END_BY_OWNER;
	int err;

	if (!t->reserved)
		return TW_OK;
	rc = tw_tpmreserve_end(t->ctx, &how);
	if (rc == TSS2_TCTI_RC_BAD_SEQUENCE)
		return TW_OK;	/* no window open: an earlier failure ended it */
	/*
	 * END of a window the module ended itself fails with that window's
	 * errno (Documentation/tpmreserve.rst, Errors): ETIME when it
	 * expired, EIO when the chip failed.
	 */
	err = rc == TSS2_RC_SUCCESS ? 0 : tw_tpmreserve_errno(t->ctx);
	if (err == ETIME)
		how = TPMRESERVE_END_EXPIRED;
	else if (err == EIO)
		how = TPMRESERVE_END_CHIP_ERROR;
	else if (rc != TSS2_RC_SUCCESS)
		return tw_status_set(st, TW_E_WINDOW, "cannot end the reserved window: %s",
				     strerror(err ? err : EIO));
	if (how == TPMRESERVE_END_EXPIRED)
		return tw_status_set(st, TW_E_WINDOW, "the reserved window expired");
	if (how == TPMRESERVE_END_CHIP_ERROR)
		return tw_status_set(st, TW_E_WINDOW, "the TPM failed during the reserved window");
	return TW_OK;
}

enum tw_code tw_status_tcti(struct tw_status *st, TSS2_RC rc, const char *what,
			    struct tw_tcti *t)
{
	if (t->reserved && tw_tpmreserve_errno(t->ctx) == ETIME)
		return tw_status_set(st, TW_E_WINDOW, "%s: the reserved window expired", what);
	return tw_status_set(st, TW_E_TCTI, "%s: TPM transport: %s", what, Tss2_RC_Decode(rc));
}
