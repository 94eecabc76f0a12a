/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The recorder: a tpm2-tss TCTI that wraps another TCTI, passes every
 * command through unchanged and keeps each raw (command, response) pair
 * in a tw_audit_log while recording is on.  It also measures the time
 * spent inside the wrapped TCTI, so that a caller can tell its own cost
 * from the TPM's.
 */
#ifndef TLSWITNESS_RECORDER_H
#define TLSWITNESS_RECORDER_H

#include <stdint.h>
#include <tss2/tss2_tcti.h>
#include <tlswitness/status.h>
#include <tlswitness/audit.h>

struct tw_recorder;

/* tw_recorder_new - wrap @inner (not owned: the caller finalizes it after the recorder). */
enum tw_code tw_recorder_new(TSS2_TCTI_CONTEXT *inner, struct tw_recorder **rec,
			     struct tw_status *st);
void tw_recorder_free(struct tw_recorder *rec);
/* The TCTI to hand to tss2-sys, ESYS or the window in place of @inner. */
TSS2_TCTI_CONTEXT *tw_recorder_tcti(struct tw_recorder *rec);
/* Recording starts on; turning it off keeps the log, turning it on again appends. */
void tw_recorder_set_recording(struct tw_recorder *rec, int on);
const struct tw_audit_log *tw_recorder_log(const struct tw_recorder *rec);
/* Nanoseconds spent inside the wrapped TCTI's transmit and receive. */
uint64_t tw_recorder_tcti_ns(const struct tw_recorder *rec);
/* A failure to record (out of memory) is kept and reported here and by the next receive. */
enum tw_code tw_recorder_error(const struct tw_recorder *rec, struct tw_status *st);

#endif
