// SPDX-License-Identifier: BSD-2-Clause
/*
 * On the reserved channel a lost exclusivity is a hard error, never a
 * retry: TPM_RC_EXCLUSIVE from ZGen and exclusiveSession NO in the
 * attestation both end the attempts at the first (tlswitness/window.h,
 * tw_attempt_run).
 *
 *   reserved-exclusive        (the TPM comes from $TW_TCTI: swtpm)
 *
 * The reserved channel is the tpmreserve module's, which the host does
 * not have, so this program is built from the window's own source and
 * marks a window on swtpm as reserved once it has begun, and unmarks it
 * just before it ends: the module's begin and end ioctls have no socket
 * to act on, but every TPM command in between, the TPM's answers and the
 * retry logic run as they do on the reserved channel.  Another TPM user
 * on the same connection (a tss2-sys context, as in tpm-sequence.c)
 * breaks exclusivity in the first attempt only.  The control runs the
 * same attempts unmarked: there the first attempt is retried and the
 * second succeeds, so the interference really cost an attempt.
 */
#include "../../user/lib/window.c"

#include <stdio.h>
#include <tss2/tss2_sys.h>
#include "other_client.h"
#include "tap.h"

#define MAX_ATTEMPTS 3

enum when {
	BEFORE_ZGEN,	/* ZGen under auditExclusive answers TPM_RC_EXCLUSIVE */
	BEFORE_ATTEST,	/* the attestation says exclusiveSession NO */
};

struct run {
	TSS2_TCTI_CONTEXT *tcti;
	TSS2_SYS_CONTEXT *other;	/* the other TPM user, same connection */
	int reserved;		/* mark each window as the reserved channel's */
	enum when when;
	unsigned int attempts, retries_logged;
	TSS2_RC other_rc;	/* the other user's GetRandom */
	uint32_t zgen_rc;	/* the TPM's answer to the first attempt's ZGen */
	struct tw_status st;
};

/* Another client's unaudited command that succeeds: exclusivity is gone. */
static void other_getrandom(struct run *r)
{
	r->other_rc = other_client_getrandom(r->other);
}

static void log_retry(void *arg, const char *line)
{
	struct run *r = arg;

	r->retries_logged++;
	printf("# %s\n", line);
}

/* The response code of the window's last logged command. */
static uint32_t last_rc(const struct tw_window *w)
{
	const struct tw_audit_log *log = tw_window_log(w);
	const struct tw_audit_entry *e;

	if (!log->count)
		return UINT32_MAX;
	e = &log->entries[log->count - 1];
	if (e->rsp_len < 10)
		return UINT32_MAX;
	return (uint32_t)e->rsp[6] << 24 | e->rsp[7] << 16 | e->rsp[8] << 8 | e->rsp[9];
}

/* One whole window; the first attempt meets the other user. */
static enum tw_code attempt(void *arg, unsigned int n, struct tw_status *st)
{
	struct run *r = arg;
	struct tw_window_opts opts = { .tcti_context = r->tcti };
	uint8_t pub[65], z[32], digest[32] = { 1 }, qualifying[32] = { 2 };
	struct tw_window *w;
	enum tw_code code, end;

	r->attempts = n;
	code = tw_window_begin(&w, &opts, st);
	if (code != TW_OK)
		return code;
	w->tcti.reserved = r->reserved;

	code = tw_window_setup(w, st);
	if (code == TW_OK)
		code = tw_window_create_key(w, pub, st);
	if (code == TW_OK)
		code = tw_window_commit(w, digest, st);
	if (code == TW_OK && n == 1 && r->when == BEFORE_ZGEN)
		other_getrandom(r);
	if (code == TW_OK)
		code = tw_window_zgen(w, pub, z, st);	/* its own point: any valid point will do */
	if (n == 1 && r->when == BEFORE_ZGEN)
		r->zgen_rc = last_rc(w);
	if (code == TW_OK && n == 1 && r->when == BEFORE_ATTEST)
		other_getrandom(r);
	if (code == TW_OK)
		code = tw_window_attest(w, qualifying, sizeof(qualifying), st);

	/* No module to end a window on a socket: end it as an ordinary one. */
	w->tcti.reserved = 0;
	end = tw_window_end(w, code == TW_OK ? st : NULL);
	if (code == TW_OK)
		code = end;
	tw_window_free(w);
	return code;
}

static enum tw_code run(struct run *r, TSS2_TCTI_CONTEXT *tcti, int reserved, enum when when)
{
	*r = (struct run){ .tcti = tcti, .reserved = reserved, .when = when };
	r->other = other_client_new(tcti);
	if (!r->other)
		return tw_status_set(&r->st, TW_E_NOMEM, "no tss2-sys context");
	r->other_rc = TSS2_SYS_RC_BAD_SEQUENCE;
	r->st.code = tw_attempt_run(MAX_ATTEMPTS, attempt, r, log_retry, r, &r->st);
	free(r->other);
	return r->st.code;
}

static void test_zgen(TSS2_TCTI_CONTEXT *tcti)
{
	struct run r;
	enum tw_code code;

	code = run(&r, tcti, 1, BEFORE_ZGEN);
	ok(r.other_rc == TSS2_RC_SUCCESS && r.zgen_rc == TPM2_RC_EXCLUSIVE,
	   "reserved: another user's GetRandom succeeded and ZGen answered 0x%x (0x121 expected)",
	   r.zgen_rc);
	ok(code == TW_E_TPM && strstr(r.st.msg, "TPM_RC_EXCLUSIVE on the reserved channel"),
	   "reserved: TPM_RC_EXCLUSIVE is a hard TPM error (code %d: %s)", code, r.st.msg);
	ok(r.attempts == 1 && r.retries_logged == 0,
	   "reserved: no retry after TPM_RC_EXCLUSIVE (%u attempts, %u retries logged)",
	   r.attempts, r.retries_logged);

	code = run(&r, tcti, 0, BEFORE_ZGEN);
	ok(r.other_rc == TSS2_RC_SUCCESS && r.zgen_rc == TPM2_RC_EXCLUSIVE,
	   "control: ZGen answered 0x%x to the first attempt here too", r.zgen_rc);
	ok(code == TW_OK && r.attempts == 2 && r.retries_logged == 1,
	   "control, not reserved: the attempt is retried and the second succeeds "
	   "(%u attempts: %s)", r.attempts, r.st.msg);
}

static void test_attest(TSS2_TCTI_CONTEXT *tcti)
{
	struct run r;
	enum tw_code code;

	code = run(&r, tcti, 1, BEFORE_ATTEST);
	ok(r.other_rc == TSS2_RC_SUCCESS,
	   "reserved: another user's GetRandom after ZGen succeeded");
	ok(code == TW_E_TPM && strstr(r.st.msg, "the audit session was not exclusive"),
	   "reserved: exclusiveSession NO is a hard TPM error (code %d: %s)", code, r.st.msg);
	ok(r.attempts == 1 && r.retries_logged == 0,
	   "reserved: no retry after exclusiveSession NO (%u attempts, %u retries logged)",
	   r.attempts, r.retries_logged);

	code = run(&r, tcti, 0, BEFORE_ATTEST);
	ok(code == TW_OK && r.attempts == 2 && r.retries_logged == 1,
	   "control, not reserved: the attempt is retried and the second succeeds "
	   "(%u attempts: %s)", r.attempts, r.st.msg);
}

int main(void)
{
	const char *conf = getenv("TW_TCTI");
	TSS2_TCTI_CONTEXT *tcti = NULL;

	if (!conf || Tss2_TctiLdr_Initialize(conf, &tcti) != TSS2_RC_SUCCESS) {
		printf("not ok 1 - TPM from TW_TCTI (%s)\n1..1\n", conf ? conf : "unset");
		return 1;
	}
	test_zgen(tcti);
	test_attest(tcti);
	Tss2_TctiLdr_Finalize(&tcti);
	return tap_done();
}
