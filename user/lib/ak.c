// SPDX-License-Identifier: BSD-2-Clause
/*
 * The attestation key: reading it from the TPM, turning its public area
 * into an OpenSSL key and checking its signatures.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
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

/*
 * An AK public area this library understands: ECC P-256 (the AK template)
 * or RSA with 2048 to 4096 bits (TPM 2.0 Part 2 section 12.2.3.5), an AK
 * made elsewhere from an RSA template.
 */
static enum tw_code tw_ak_parse(const uint8_t *pub, size_t len, TPM2B_PUBLIC *p,
				struct tw_status *st)
{
	const TPMT_PUBLIC *a = &p->publicArea;
	if (tw_public_exact(pub, len, p))
		return tw_status_set(st, TW_E_PROOF, "AK public area is malformed");
	if (a->type == TPM2_ALG_ECC) {
		if (a->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
		    a->unique.ecc.x.size > 32 || a->unique.ecc.y.size > 32)
			return tw_status_set(st, TW_E_PROOF, "AK is not an ECC P-256 key");
		return TW_OK;
	}
	if (a->type == TPM2_ALG_RSA) {
		unsigned int bits = a->parameters.rsaDetail.keyBits;

		if (bits < 2048 || bits > 4096 || bits % 8 || a->unique.rsa.size != bits / 8)
			return tw_status_set(st, TW_E_PROOF,
					     "AK is not an RSA key of 2048 to 4096 bits");
		return TW_OK;
	}
	return tw_status_set(st, TW_E_PROOF, "AK is neither an ECC P-256 nor an RSA key");
}

/* OSSL_PARAM_BLD keeps a pointer to @point until the parameters are built. */
static int tw_ak_ec_params(OSSL_PARAM_BLD *bld, const TPMS_ECC_POINT *u, uint8_t point[65])
{
	memset(point, 0, 65);
	point[0] = 0x04;
	memcpy(point + 1 + 32 - u->x.size, u->x.buffer, u->x.size);
	memcpy(point + 33 + 32 - u->y.size, u->y.buffer, u->y.size);
	return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) &&
	       OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 65);
}

/* Part 2 section 12.2.3.5: an exponent of 0 stands for 2^16 + 1. */
static int tw_ak_rsa_params(OSSL_PARAM_BLD *bld, const TPMT_PUBLIC *a, BIGNUM **n, BIGNUM **e)
{
	UINT32 exponent = a->parameters.rsaDetail.exponent;

	*n = BN_bin2bn(a->unique.rsa.buffer, a->unique.rsa.size, NULL);
	*e = BN_new();
	return *n && *e && BN_set_word(*e, exponent ? exponent : 65537) &&
	       OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, *n) &&
	       OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, *e);
}

enum tw_code tw_ak_public_key(const uint8_t *pub, size_t len, EVP_PKEY **key,
			      struct tw_status *st)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[65];
	TPM2B_PUBLIC p;
	enum tw_code code;
	int rsa, good;

	*key = NULL;
	code = tw_ak_parse(pub, len, &p, st);
	if (code != TW_OK)
		return code;
	rsa = p.publicArea.type == TPM2_ALG_RSA;

	bld = OSSL_PARAM_BLD_new();
	good = bld && (rsa ? tw_ak_rsa_params(bld, &p.publicArea, &n, &e)
			   : tw_ak_ec_params(bld, &p.publicArea.unique.ecc, point));
	if (!good)
		goto out_nomem;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0)
		goto out_nomem;
	if (EVP_PKEY_fromdata(ctx, key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		code = tw_status_set(st, TW_E_PROOF, rsa ? "AK public key is not a usable RSA key"
							 : "AK public point is not on P-256");
	goto out;

out_nomem:
	code = tw_status_set(st, TW_E_NOMEM, "AK: OpenSSL key construction failed");
out:
	BN_free(n);
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return code;
}

/*
 * The AK template (Documentation/ak.rst), or for an RSA AK the same
 * attributes with an RSASSA or RSAPSS SHA-256 scheme: a restricted signing
 * key, so that it signs only what the TPM made.
 */
enum tw_code tw_ak_check_template(const uint8_t *pub, size_t len, struct tw_status *st)
{
	const TPMT_PUBLIC *a;
	TPMT_PUBLIC want;
	TPM2B_PUBLIC p;
	enum tw_code code;

	code = tw_ak_parse(pub, len, &p, st);
	if (code != TW_OK)
		return code;
	a = &p.publicArea;
	tw_template_ak(&want);
	if (a->nameAlg != want.nameAlg || a->objectAttributes != want.objectAttributes ||
	    a->authPolicy.size != 0)
		return tw_status_set(st, TW_E_VERIFY, "AK does not match the AK template");
	if (a->type == TPM2_ALG_ECC) {
		if (memcmp(&a->parameters.eccDetail, &want.parameters.eccDetail,
			   sizeof(want.parameters.eccDetail)))
			return tw_status_set(st, TW_E_VERIFY, "AK does not match the AK template");
		return TW_OK;
	}
	if (a->parameters.rsaDetail.symmetric.algorithm != TPM2_ALG_NULL ||
	    (a->parameters.rsaDetail.scheme.scheme != TPM2_ALG_RSASSA &&
	     a->parameters.rsaDetail.scheme.scheme != TPM2_ALG_RSAPSS) ||
	    a->parameters.rsaDetail.scheme.details.anySig.hashAlg != TPM2_ALG_SHA256)
		return tw_status_set(st, TW_E_VERIFY, "RSA AK is not a restricted RSASSA or "
						      "RSAPSS SHA-256 signing key");
	return TW_OK;
}

/* TPM 2.0 Part 2 section 11.3.4: TPMS_SIGNATURE_ECDSA is (hash, r, s); OpenSSL wants DER. */
static enum tw_code tw_ecdsa_der(const TPMS_SIGNATURE_ECDSA *s, uint8_t *der, size_t *der_len,
				 struct tw_status *st)
{
	ECDSA_SIG *es;
	BIGNUM *r, *sv;
	uint8_t *q = der;
	int n;

	es = ECDSA_SIG_new();
	r = BN_bin2bn(s->signatureR.buffer, s->signatureR.size, NULL);
	sv = BN_bin2bn(s->signatureS.buffer, s->signatureS.size, NULL);
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

/*
 * The signature bytes OpenSSL verifies and the RSA padding they need:
 * ECDSA-SHA256 by an EC AK, RSASSA-PKCS1-v1_5 or RSASSA-PSS with SHA-256 by
 * an RSA AK (Part 2 section 11.3.4).
 */
static enum tw_code tw_sig_bytes(const TPMT_SIGNATURE *s, const EVP_PKEY *key, uint8_t *buf,
				 size_t *len, int *padding, struct tw_status *st)
{
	const TPM2B_PUBLIC_KEY_RSA *rsa = &s->signature.rsassa.sig;

	if (s->sigAlg == TPM2_ALG_ECDSA && s->signature.ecdsa.hash == TPM2_ALG_SHA256 &&
	    EVP_PKEY_is_a(key, "EC")) {
		*padding = 0;
		return tw_ecdsa_der(&s->signature.ecdsa, buf, len, st);
	}
	if ((s->sigAlg == TPM2_ALG_RSASSA || s->sigAlg == TPM2_ALG_RSAPSS) &&
	    s->signature.rsassa.hash == TPM2_ALG_SHA256 && EVP_PKEY_is_a(key, "RSA")) {
		*padding = s->sigAlg == TPM2_ALG_RSASSA ? RSA_PKCS1_PADDING : RSA_PKCS1_PSS_PADDING;
		memcpy(buf, rsa->buffer, rsa->size);
		*len = rsa->size;
		return TW_OK;
	}
	return tw_status_set(st, TW_E_VERIFY,
			     "attestation signature is not ECDSA-SHA256 by an EC AK or "
			     "RSASSA/RSAPSS-SHA256 by an RSA AK");
}

enum tw_code tw_ak_verify(const uint8_t *pub, size_t pub_len, const uint8_t *attest,
			  size_t attest_len, const uint8_t *sig, size_t sig_len,
			  struct tw_status *st)
{
	uint8_t buf[sizeof(TPMU_SIGNATURE) + 16];
	size_t len = 0, off = 0;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	TPMT_SIGNATURE s;
	enum tw_code code;
	int ok, padding;

	code = tw_ak_public_key(pub, pub_len, &key, st);
	if (code != TW_OK)
		return code;
	memset(&s, 0, sizeof(s));
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, sig_len, &off, &s) || off != sig_len) {
		code = tw_status_set(st, TW_E_PROOF, "attestation signature is malformed");
		goto out;
	}
	code = tw_sig_bytes(&s, key, buf, &len, &padding, st);
	if (code != TW_OK)
		goto out;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    (padding && EVP_PKEY_CTX_set_rsa_padding(pctx, padding) != 1) ||
	    (padding == RSA_PKCS1_PSS_PADDING &&
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1)) {
		code = tw_status_set(st, TW_E_NOMEM, "attestation signature: OpenSSL setup failed");
		goto out;
	}
	ok = EVP_DigestVerify(md, buf, len, attest, attest_len);
	if (ok != 1)
		code = tw_status_set(st, TW_E_VERIFY,
				     "the AK's signature over the attestation does not verify");
out:
	EVP_MD_CTX_free(md);
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
