// SPDX-License-Identifier: BSD-2-Clause
/*
 * The attestation key: reading it from the TPM, turning its public area
 * into an OpenSSL key and checking its signatures.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <tss2/tss2_mu.h>
#include <tlswitness/ak.h>
#include <tlswitness/window.h>
#include "templates.h"
#include "tpm_wire.h"

enum tw_code tw_ak_read(const char *tcti, uint8_t *pub, size_t *len, struct tw_status *st)
{
	struct tw_window_opts opts = { .tcti = tcti };
	struct tw_window *w;
	const uint8_t *p;
	size_t n;
	enum tw_code code;

	if (!pub || !len)
		return tw_status_set(st, TW_E_USAGE, "AK: no place for the public area");
	code = tw_window_begin(&w, &opts, st);
	if (code != TW_OK)
		return code;
	code = tw_window_setup(w, st);
	if (code == TW_OK && (tw_window_ak_public(w, &p, &n) != TW_OK || n > TW_AK_PUBLIC_MAX))
		code = tw_status_set(st, TW_E_TPM, "AK: public area missing or too large");
	if (code == TW_OK) {
		memcpy(pub, p, n);
		*len = n;
		code = tw_window_end(w, st);
	}
	tw_window_free(w);
	return code;
}

static enum tw_code tw_ak_parse(const uint8_t *pub, size_t len, TPM2B_PUBLIC *p,
				struct tw_status *st)
{
	size_t off = 0;

	memset(p, 0, sizeof(*p));
	if (!pub || Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, p) || off != len)
		return tw_status_set(st, TW_E_PROOF, "AK public area is malformed");
	if (p->publicArea.type != TPM2_ALG_ECC ||
	    p->publicArea.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
	    p->publicArea.unique.ecc.x.size > 32 || p->publicArea.unique.ecc.y.size > 32)
		return tw_status_set(st, TW_E_PROOF, "AK is not an ECC P-256 key");
	return TW_OK;
}

enum tw_code tw_ak_public_key(const uint8_t *pub, size_t len, EVP_PKEY **key,
			      struct tw_status *st)
{
	const TPMS_ECC_POINT *u;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t point[65] = { 0x04 };
	TPM2B_PUBLIC p;
	enum tw_code code;

	*key = NULL;
	code = tw_ak_parse(pub, len, &p, st);
	if (code != TW_OK)
		return code;
	u = &p.publicArea.unique.ecc;
	memcpy(point + 1 + 32 - u->x.size, u->x.buffer, u->x.size);
	memcpy(point + 33 + 32 - u->y.size, u->y.buffer, u->y.size);

	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		goto out_nomem;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0)
		goto out_nomem;
	if (EVP_PKEY_fromdata(ctx, key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		code = tw_status_set(st, TW_E_PROOF, "AK public point is not on P-256");
	goto out;

out_nomem:
	code = tw_status_set(st, TW_E_NOMEM, "AK: OpenSSL key construction failed");
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return code;
}

enum tw_code tw_ak_check_template(const uint8_t *pub, size_t len, struct tw_status *st)
{
	TPMT_PUBLIC want;
	TPM2B_PUBLIC p;
	enum tw_code code;

	code = tw_ak_parse(pub, len, &p, st);
	if (code != TW_OK)
		return code;
	tw_template_ak(&want);
	if (p.publicArea.nameAlg != want.nameAlg ||
	    p.publicArea.objectAttributes != want.objectAttributes ||
	    p.publicArea.authPolicy.size != 0 ||
	    memcmp(&p.publicArea.parameters.eccDetail, &want.parameters.eccDetail,
		   sizeof(want.parameters.eccDetail)))
		return tw_status_set(st, TW_E_VERIFY, "AK does not match the AK template");
	return TW_OK;
}

/* TPM 2.0 Part 2, TPMS_SIGNATURE_ECDSA is (hash, r, s); OpenSSL wants DER. */
static enum tw_code tw_ecdsa_der(const uint8_t *sig, size_t len, uint8_t *der, size_t *der_len,
				 struct tw_status *st)
{
	TPMT_SIGNATURE s;
	ECDSA_SIG *es;
	BIGNUM *r, *sv;
	size_t off = 0;
	uint8_t *q = der;
	int n;

	memset(&s, 0, sizeof(s));
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, len, &off, &s) || off != len)
		return tw_status_set(st, TW_E_PROOF, "attestation signature is malformed");
	if (s.sigAlg != TPM2_ALG_ECDSA || s.signature.ecdsa.hash != TPM2_ALG_SHA256)
		return tw_status_set(st, TW_E_VERIFY, "attestation signature is not ECDSA-SHA256");
	es = ECDSA_SIG_new();
	r = BN_bin2bn(s.signature.ecdsa.signatureR.buffer, s.signature.ecdsa.signatureR.size,
		      NULL);
	sv = BN_bin2bn(s.signature.ecdsa.signatureS.buffer, s.signature.ecdsa.signatureS.size,
		       NULL);
	if (!es || !r || !sv || !ECDSA_SIG_set0(es, r, sv)) {
		ECDSA_SIG_free(es);
		BN_free(r);
		BN_free(sv);
		return tw_status_set(st, TW_E_NOMEM, "attestation signature: out of memory");
	}
	n = i2d_ECDSA_SIG(es, &q);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return tw_status_set(st, TW_E_NOMEM, "attestation signature: DER failed");
	*der_len = n;
	return TW_OK;
}

enum tw_code tw_ak_verify(const uint8_t *pub, size_t pub_len, const uint8_t *attest,
			  size_t attest_len, const uint8_t *sig, size_t sig_len,
			  struct tw_status *st)
{
	uint8_t der[80 + 2 * sizeof(TPMU_HA)];
	size_t der_len = 0;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md;
	enum tw_code code;
	int ok;

	code = tw_ak_public_key(pub, pub_len, &key, st);
	if (code != TW_OK)
		return code;
	code = tw_ecdsa_der(sig, sig_len, der, &der_len, st);
	if (code != TW_OK)
		goto out;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1) {
		EVP_MD_CTX_free(md);
		code = tw_status_set(st, TW_E_NOMEM, "attestation signature: OpenSSL setup failed");
		goto out;
	}
	ok = EVP_DigestVerify(md, der, der_len, attest, attest_len);
	EVP_MD_CTX_free(md);
	if (ok != 1)
		code = tw_status_set(st, TW_E_VERIFY,
				     "the AK's signature over the attestation does not verify");
out:
	EVP_PKEY_free(key);
	return code;
}

enum tw_code tw_ak_name(const uint8_t *pub, size_t len, uint8_t name[34], struct tw_status *st)
{
	struct tw_name n;
	EVP_MD_CTX *md;
	int bad;

	if (!pub || len < 2 || (size_t)(pub[0] << 8 | pub[1]) != len - 2)
		return tw_status_set(st, TW_E_PROOF, "AK public area is malformed");
	md = EVP_MD_CTX_new();
	if (!md)
		return tw_status_set(st, TW_E_NOMEM, "AK name: out of memory");
	bad = tw_name_of_public(&n, md, pub + 2, len - 2);
	EVP_MD_CTX_free(md);
	if (bad || n.len != 34)
		return tw_status_set(st, TW_E_PROOF, "AK name algorithm is not SHA-256");
	memcpy(name, n.buf, 34);
	return TW_OK;
}

enum tw_code tw_ak_qualified_name(const uint8_t *pub, size_t len, uint32_t hierarchy,
				  uint8_t qn[34], struct tw_status *st)
{
	uint8_t name[34], h[4];
	unsigned int dlen = 0;
	EVP_MD_CTX *md;
	enum tw_code code;
	int good;

	code = tw_ak_name(pub, len, name, st);
	if (code != TW_OK)
		return code;
	tw_put32(h, hierarchy);
	md = EVP_MD_CTX_new();
	good = md && EVP_DigestInit_ex(md, tw_sha256(), NULL) && EVP_DigestUpdate(md, h, 4) &&
	       EVP_DigestUpdate(md, name, sizeof(name)) && EVP_DigestFinal_ex(md, qn + 2, &dlen);
	EVP_MD_CTX_free(md);
	if (!good)
		return tw_status_set(st, TW_E_NOMEM, "AK qualified name: OpenSSL digest failed");
	qn[0] = 0x00;
	qn[1] = TPM2_ALG_SHA256;
	return TW_OK;
}
