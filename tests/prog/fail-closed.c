// SPDX-License-Identifier: BSD-2-Clause
/*
 * The prover fails closed (DESIGN.md section 5): before the handshake
 * P-256 must resolve to the library's provider, after it the key share
 * must have been the TPM's; otherwise an error and no proof.
 *
 *   fail-closed URL CA_FILE        (the TPM comes from $TW_TCTI: swtpm)
 *
 * First tw_provider_check itself, on library contexts with and without
 * the provider.  Then the whole prover, built here from its own source
 * with the library context it uses chosen per case: the real one (the
 * control: a proof), one without the provider (the check before the
 * handshake refuses), and one without the provider whose check before
 * the handshake is skipped, so that libssl makes a software key share
 * and only the check after the handshake stands between it and a proof.
 * Nothing in the library changes: the substitution is this file's.
 */
#include <openssl/provider.h>
#include "../../user/lib/prover.h"

static enum tw_code case_libctx(const struct tw_tpm_ops *ops, OSSL_LIB_CTX **libctx,
				struct tw_status *st);
static enum tw_code case_check(OSSL_LIB_CTX *libctx, struct tw_status *st);

#define tw_provider_libctx case_libctx
#define tw_provider_check case_check
#include "../../user/lib/prove.c"
#undef tw_provider_libctx
#undef tw_provider_check

#include "tap.h"

enum libctx_case {
	REAL,			/* tw_provider_libctx and tw_provider_check */
	NO_PROVIDER,		/* the default provider only, checked */
	NO_PROVIDER_UNCHECKED,	/* the default provider only, first check skipped */
};

static enum libctx_case which;
static unsigned int checks;

static enum tw_code case_libctx(const struct tw_tpm_ops *ops, OSSL_LIB_CTX **libctx,
				struct tw_status *st)
{
	if (which == REAL)
		return tw_provider_libctx(ops, libctx, st);
	*libctx = OSSL_LIB_CTX_new();
	if (!*libctx || !OSSL_PROVIDER_load(*libctx, "default"))
		return tw_status_set(st, TW_E_TLS, "test: no library context");
	return TW_OK;
}

static enum tw_code case_check(OSSL_LIB_CTX *libctx, struct tw_status *st)
{
	checks++;
	if (which == NO_PROVIDER_UNCHECKED)
		return TW_OK;
	return tw_provider_check(libctx, st);
}

/* A library context with @provider only (NULL: ours and the default, as the prover has). */
static OSSL_LIB_CTX *libctx_with(const char *provider)
{
	struct tw_tpm_ops ops = { 0 };
	OSSL_LIB_CTX *libctx = NULL;

	if (!provider) {
		tw_provider_libctx(&ops, &libctx, NULL);
		return libctx;
	}
	libctx = OSSL_LIB_CTX_new();
	if (libctx && !OSSL_PROVIDER_load(libctx, provider)) {
		OSSL_LIB_CTX_free(libctx);
		return NULL;
	}
	return libctx;
}

static void test_check(void)
{
	struct tw_status st = { 0 };
	OSSL_LIB_CTX *libctx;
	enum tw_code code;

	libctx = libctx_with(NULL);
	code = libctx ? tw_provider_check(libctx, &st) : TW_E_NOMEM;
	ok(code == TW_OK, "the prover's library context: P-256 resolves to the provider (%s)",
	   st.msg);
	OSSL_LIB_CTX_free(libctx);

	st = (struct tw_status){ 0 };
	libctx = libctx_with("default");
	code = libctx ? tw_provider_check(libctx, &st) : TW_E_NOMEM;
	ok(code == TW_E_TLS &&
		   !strcmp(st.msg, "P-256 does not resolve to the TPM provider (keymgmt from "
				   "\"default\", key exchange from \"default\")"),
	   "default provider only: the check refuses and names it (%s)", st.msg);
	OSSL_LIB_CTX_free(libctx);

	st = (struct tw_status){ 0 };
	libctx = libctx_with("base");
	code = libctx ? tw_provider_check(libctx, &st) : TW_E_NOMEM;
	ok(code == TW_E_TLS &&
		   !strcmp(st.msg, "P-256 does not resolve to the TPM provider (keymgmt from "
				   "\"\", key exchange from \"\")"),
	   "no provider offers P-256: the check refuses (%s)", st.msg);
	OSSL_LIB_CTX_free(libctx);
}

/* No proof in @res: nothing the TPM signed, logged or recorded is handed out. */
static int no_proof(const struct tw_prove_result *res)
{
	return !res->proof.attest && !res->proof.signature && !res->proof.log.count &&
	       !res->proof.record_count && !res->body;
}

static enum tw_code prove_case(enum libctx_case c, const struct tw_prove_opts *o,
			       struct tw_prove_result *res, struct tw_status *st)
{
	which = c;
	checks = 0;
	*st = (struct tw_status){ 0 };
	return tw_prove(o, res, st);
}

static void test_prover(const char *url, const char *ca_file)
{
	struct tw_prove_opts o = {
		.url = url, .ca_file = ca_file, .tcti = getenv("TW_TCTI"), .max_retries = 2,
	};
	struct tw_prove_result res;
	struct tw_status st;
	enum tw_code code;

	code = prove_case(REAL, &o, &res, &st);
	ok(code == TW_OK && res.proof.attest && res.proof.log.count && checks == 1,
	   "control: the prover built here proves with the real library context (%s)", st.msg);
	tw_prove_result_release(&res);

	code = prove_case(NO_PROVIDER, &o, &res, &st);
	ok(code == TW_E_TLS && res.stage == TW_STAGE_TLS &&
		   !strncmp(st.msg, "P-256 does not resolve to the TPM provider", 42),
	   "P-256 not resolving to the provider: refused before the handshake (%s)", st.msg);
	ok(no_proof(&res) && res.stats.window_ns == 0,
	   "... no proof, and no window was begun");
	tw_prove_result_release(&res);

	code = prove_case(NO_PROVIDER_UNCHECKED, &o, &res, &st);
	ok(code == TW_E_TLS && res.stage == TW_STAGE_TLS &&
		   !strcmp(st.msg, "the handshake did not use the TPM's key share: no proof"),
	   "a key share that was not the TPM's: refused after the handshake (%s)", st.msg);
	ok(no_proof(&res) && res.stats.window_ns > 0 && checks == 1,
	   "... no proof, though the window ran");
	tw_prove_result_release(&res);
}

int main(int argc, char **argv)
{
	if (argc != 3 || !getenv("TW_TCTI")) {
		printf("not ok 1 - usage: TW_TCTI=... fail-closed URL CA_FILE\n1..1\n");
		return 1;
	}
	test_check();
	test_prover(argv[1], argv[2]);
	return tap_done();
}
