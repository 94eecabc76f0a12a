// SPDX-License-Identifier: BSD-2-Clause
/*
 * The recording TCTI.  A command is held from transmit until its
 * response arrives, then the pair goes into the log.  The wrapped TCTI is
 * always read with a full buffer, so callers that first ask for the
 * response size (tss2-sys does not, some tools do) are served from the
 * held copy.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tlswitness/recorder.h>
#include "tpm_wire.h"

#define TW_RECORDER_MAGIC 0x7477726563647231ULL	/* "twrecdr1" */

struct tw_recorder {
	TSS2_TCTI_CONTEXT_COMMON_V2 common;	/* first: the TCTI ABI */
	TSS2_TCTI_CONTEXT *inner;
	struct tw_audit_log log;
	int recording;
	uint8_t cmd[TW_TPM_BUF];
	size_t cmd_len;
	int cmd_pending;
	uint8_t rsp[TW_TPM_BUF];
	size_t rsp_len;
	int rsp_ready;
	uint64_t ns;
	struct tw_status err;
};

static uint64_t tw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct tw_recorder *tw_rec(TSS2_TCTI_CONTEXT *ctx)
{
	struct tw_recorder *rec = (struct tw_recorder *)ctx;

	if (!rec || rec->common.v1.magic != TW_RECORDER_MAGIC)
		return NULL;
	return rec;
}

static TSS2_RC tw_rec_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command)
{
	struct tw_recorder *rec = tw_rec(ctx);
	uint64_t t0;
	TSS2_RC rc;

	if (!rec)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (!command || size > sizeof(rec->cmd))
		return TSS2_TCTI_RC_BAD_VALUE;
	if (rec->cmd_pending)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	t0 = tw_now_ns();
	rc = Tss2_Tcti_Transmit(rec->inner, size, command);
	rec->ns += tw_now_ns() - t0;
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	memcpy(rec->cmd, command, size);
	rec->cmd_len = size;
	rec->cmd_pending = 1;
	rec->rsp_ready = 0;
	return TSS2_RC_SUCCESS;
}

/* Read the whole response from the wrapped TCTI and log the pair. */
static TSS2_RC tw_rec_fill(struct tw_recorder *rec, int32_t timeout)
{
	uint64_t t0;
	TSS2_RC rc;

	rec->rsp_len = sizeof(rec->rsp);
	t0 = tw_now_ns();
	rc = Tss2_Tcti_Receive(rec->inner, &rec->rsp_len, rec->rsp, timeout);
	rec->ns += tw_now_ns() - t0;
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	rec->rsp_ready = 1;
	rec->cmd_pending = 0;
	if (rec->recording && rec->err.code == TW_OK &&
	    tw_audit_log_append(&rec->log, rec->cmd, rec->cmd_len, rec->rsp, rec->rsp_len,
				&rec->err) != TW_OK)
		return TSS2_TCTI_RC_MEMORY;
	return TSS2_RC_SUCCESS;
}

static TSS2_RC tw_rec_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response,
			      int32_t timeout)
{
	struct tw_recorder *rec = tw_rec(ctx);
	TSS2_RC rc;

	if (!rec)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (!size)
		return TSS2_TCTI_RC_BAD_REFERENCE;
	if (!rec->rsp_ready) {
		if (!rec->cmd_pending)
			return TSS2_TCTI_RC_BAD_SEQUENCE;
		rc = tw_rec_fill(rec, timeout);
		if (rc != TSS2_RC_SUCCESS)
			return rc;
	}
	if (!response) {
		*size = rec->rsp_len;
		return TSS2_RC_SUCCESS;
	}
	if (*size < rec->rsp_len) {
		*size = rec->rsp_len;
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	}
	memcpy(response, rec->rsp, rec->rsp_len);
	*size = rec->rsp_len;
	rec->rsp_ready = 0;
	return TSS2_RC_SUCCESS;
}

static void tw_rec_finalize(TSS2_TCTI_CONTEXT *ctx)
{
	/* The recorder's owner frees it with tw_recorder_free(). */
}

static TSS2_RC tw_rec_cancel(TSS2_TCTI_CONTEXT *ctx)
{
	struct tw_recorder *rec = tw_rec(ctx);

	return rec ? Tss2_Tcti_Cancel(rec->inner) : TSS2_TCTI_RC_BAD_CONTEXT;
}

static TSS2_RC tw_rec_poll(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *handles, size_t *num)
{
	struct tw_recorder *rec = tw_rec(ctx);

	return rec ? Tss2_Tcti_GetPollHandles(rec->inner, handles, num)
		   : TSS2_TCTI_RC_BAD_CONTEXT;
}

static TSS2_RC tw_rec_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality)
{
	struct tw_recorder *rec = tw_rec(ctx);

	return rec ? Tss2_Tcti_SetLocality(rec->inner, locality) : TSS2_TCTI_RC_BAD_CONTEXT;
}

static TSS2_RC tw_rec_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *handle, uint8_t sticky)
{
	struct tw_recorder *rec = tw_rec(ctx);

	return rec ? Tss2_Tcti_MakeSticky(rec->inner, handle, sticky) : TSS2_TCTI_RC_BAD_CONTEXT;
}

enum tw_code tw_recorder_new(TSS2_TCTI_CONTEXT *inner, struct tw_recorder **out,
			     struct tw_status *st)
{
	struct tw_recorder *rec;

	if (!inner || !out)
		return tw_status_set(st, TW_E_USAGE, "recorder: no TCTI to wrap");
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return tw_status_set(st, TW_E_NOMEM, "recorder: out of memory");
	rec->common.v1.magic = TW_RECORDER_MAGIC;
	rec->common.v1.version = 2;
	rec->common.v1.transmit = tw_rec_transmit;
	rec->common.v1.receive = tw_rec_receive;
	rec->common.v1.finalize = tw_rec_finalize;
	rec->common.v1.cancel = tw_rec_cancel;
	rec->common.v1.getPollHandles = tw_rec_poll;
	rec->common.v1.setLocality = tw_rec_locality;
	rec->common.makeSticky = tw_rec_sticky;
	rec->inner = inner;
	rec->recording = 1;
	*out = rec;
	return TW_OK;
}

void tw_recorder_free(struct tw_recorder *rec)
{
	if (!rec)
		return;
	tw_audit_log_clear(&rec->log);
	free(rec);
}

TSS2_TCTI_CONTEXT *tw_recorder_tcti(struct tw_recorder *rec)
{
	return (TSS2_TCTI_CONTEXT *)rec;
}

void tw_recorder_set_recording(struct tw_recorder *rec, int on)
{
	rec->recording = on;
}

const struct tw_audit_log *tw_recorder_log(const struct tw_recorder *rec)
{
	return &rec->log;
}

uint64_t tw_recorder_tcti_ns(const struct tw_recorder *rec)
{
	return rec->ns;
}

enum tw_code tw_recorder_error(const struct tw_recorder *rec, struct tw_status *st)
{
	if (rec->err.code == TW_OK)
		return TW_OK;
	if (st)
		*st = rec->err;
	return rec->err.code;
}
