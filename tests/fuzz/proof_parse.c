// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the proof reader and what the verifier does with a
 * proof it accepts.
 *
 * Input: the bytes of a proof file.  tw_proof_parse() must accept or
 * refuse it without reading outside the buffer; a proof it accepts must
 * come back identical through the writer (tw_proof_to_json(), then parse
 * and write again), and is then verified against a fixed trust store and
 * a fixed AK, so that every check up to the AK's signature runs on
 * arbitrary input (past it, a fuzzer cannot forge a signature).
 *
 * Seeds in tests/fuzz/corpus/proof_parse/: proofs the prover made on swtpm
 * against s_server (ECDSA, RSA), the HelloRetryRequest server and the
 * 0.5-RTT server, and forged proofs written by tests/prog/forge.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <tlswitness/proof.h>
#include <tlswitness/verify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *ak;
static X509_STORE *trust;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_verify_opts o = {0};
	struct tw_verify_result res;
	struct tw_status st;
	struct tw_proof p, again;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;

	if (!ak) {
		ak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		trust = X509_STORE_new();
	}
	if (tw_proof_parse((const char *)data, size, &p, &st) != TW_OK)
		return 0;

	/* The writer gives back what the reader took, and nothing else. */
	if (tw_proof_to_json(&p, &text, &len, &st) != TW_OK ||
	    tw_proof_parse(text, len, &again, &st) != TW_OK)
		abort();
	if (tw_proof_to_json(&again, &text2, &len2, &st) != TW_OK || len != len2 ||
	    memcmp(text, text2, len))
		abort();
	tw_proof_clear(&again);
	free(text);
	free(text2);

	o.ak_key = ak;
	o.trust = trust;
	tw_verify(&p, &o, &res, &st);
	tw_verify_result_free(&res);
	tw_proof_clear(&p);
	return 0;
}
