// SPDX-License-Identifier: BSD-2-Clause
/*
 * One whole window on a named transport, as the prover would run it,
 * checked by replay and signature.
 *
 *   tpm-window [TCTI] [--expect-reserved] [--rounds N]
 *
 * TCTI as for tw_window_opts.tcti (absent: the library's default).  With
 * --expect-reserved the window must have run on the reserved channel.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include <tlswitness/ak.h>
#include <tlswitness/audit.h>
#include <tlswitness/window.h>
#include "tap.h"

static enum tw_code tw_one(struct tw_window_opts *opts, int *reserved, struct tw_status *st)
{
	static struct tw_audit_replay rep;
	const uint8_t *attest, *sig, *ak;
	size_t attest_len, sig_len, ak_len;
	uint8_t pub[65], z[32], digest[32], nonce[32];
	struct tw_window *w;
	enum tw_code code;

	RAND_bytes(digest, sizeof(digest));
	RAND_bytes(nonce, sizeof(nonce));
	code = tw_window_begin(&w, opts, st);
	if (code != TW_OK)
		return code;
	*reserved = tw_window_reserved(w);
	code = tw_window_setup(w, st);
	if (code == TW_OK)
		code = tw_window_create_key(w, pub, st);
	if (code == TW_OK)
		code = tw_window_commit(w, digest, st);
	if (code == TW_OK)
		code = tw_window_zgen(w, pub, z, st);	/* its own point: any valid point will do */
	if (code == TW_OK)
		code = tw_window_attest(w, nonce, sizeof(nonce), st);
	if (code == TW_OK)
		code = tw_window_end(w, st);
	if (code == TW_OK)
		code = tw_audit_replay(tw_window_log(w), &rep, st);
	if (code == TW_OK &&
	    (tw_window_attestation(w, &attest, &attest_len, &sig, &sig_len) != TW_OK ||
	     tw_window_ak_public(w, &ak, &ak_len) != TW_OK))
		code = tw_status_set(st, TW_E_USAGE, "no attestation");
	if (code == TW_OK)
		code = tw_ak_verify(ak, ak_len, attest, attest_len, sig, sig_len, st);
	if (code == TW_OK && rep.attest_info.attested.sessionAudit.exclusiveSession != 1)
		code = tw_status_set(st, TW_E_EXCLUSIVE, "not exclusive");
	tw_window_free(w);
	return code;
}

int main(int argc, char **argv)
{
	struct tw_window_opts opts = { 0 };
	int expect_reserved = 0, reserved = 0, i, rounds = 1, good = 0;
	struct tw_status st = { 0 };

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--expect-reserved"))
			expect_reserved = 1;
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else
			opts.tcti = argv[i];
	}
	for (i = 0; i < rounds; i++)
		good += tw_one(&opts, &reserved, &st) == TW_OK;
	ok(good == rounds, "%d of %d windows on %s ran, replayed, verified, exclusive (%s)", good,
	   rounds, opts.tcti ? opts.tcti : "the default TPM", st.msg);
	if (expect_reserved)
		ok(reserved, "the window ran on the reserved channel");
	return tap_done();
}
