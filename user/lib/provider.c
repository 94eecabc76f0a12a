// SPDX-License-Identifier: BSD-2-Clause
/*
 * An OpenSSL 3 provider whose P-256 key share lives in the TPM.
 *
 * It offers keymgmt "EC" and keyexch "ECDH" under the property
 * tlswitness.tpm=yes and its own TLS-GROUP capability for secp256r1, and
 * lives only in a private library context made for one prover attempt.
 * libssl (RFC 8446 section 4.2.8) asks keymgmt to generate the client's key
 * share, reads its encoded point, imports the server's point into a key of
 * the same keymgmt, and asks keyexch to derive the shared secret: the
 * generation and the derivation go to the TPM through struct tw_tpm_ops.
 * Certificates, signatures, HKDF and AEAD stay with the default provider.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/tls1.h>

#include "prover.h"

#define P256_POINT	65	/* uncompressed: 0x04 || X || Y (SEC 1 section 2.3.3) */
#define P256_BITS	256
#define P256_SECURITY	128
#define P256_GROUP	"prime256v1"
#define TW_PROPERTY	"tlswitness.tpm=yes"

struct provctx {
	struct tw_tpm_ops ops;
};

/*
 * A key of our keymgmt: either the client's key share, whose private half
 * is the TPM object (tpm_bound), or a peer's public point.
 */
struct tw_key {
	struct provctx *prov;
	bool has_pub;
	bool tpm_bound;
	uint8_t pub[P256_POINT];
};

struct genctx {
	struct provctx *prov;
	int selection;
	bool group_ok;
};

struct exchctx {
	struct provctx *prov;
	struct tw_key *key;
	struct tw_key *peer;
	bool derived;
};

/* ---- keymgmt ---- */

static bool p256_name(const char *name)
{
	return !strcasecmp(name, "prime256v1") || !strcasecmp(name, "P-256") ||
	       !strcasecmp(name, "secp256r1");
}

/* SEC 1 section 3.2.2.1: the point must be on the curve and not infinity. */
static bool p256_point_valid(const uint8_t *pt, size_t len)
{
	EC_GROUP *group;
	EC_POINT *point;
	bool ok = false;

	if (len != P256_POINT || pt[0] != 0x04)
		return false;
	group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	point = group ? EC_POINT_new(group) : NULL;
	if (point && EC_POINT_oct2point(group, point, pt, len, NULL) == 1)
		ok = EC_POINT_is_on_curve(group, point, NULL) == 1 &&
		     !EC_POINT_is_at_infinity(group, point);
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return ok;
}

static void *km_new(void *provctx)
{
	struct tw_key *key = calloc(1, sizeof(*key));

	if (key)
		key->prov = provctx;
	return key;
}

static void km_free(void *keydata)
{
	struct tw_key *key = keydata;

	if (key)
		OPENSSL_cleanse(key, sizeof(*key));
	free(key);
}

static int km_has(const void *keydata, int selection)
{
	const struct tw_key *key = keydata;

	if (!key)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && !key->has_pub)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !key->tpm_bound)
		return 0;
	return 1;
}

static int km_gen_set_params(void *ctx, const OSSL_PARAM params[])
{
	struct genctx *gen = ctx;
	const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
	const char *name = NULL;

	if (!p)
		return 1;
	if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !p256_name(name))
		return 0;
	gen->group_ok = true;
	return 1;
}

static const OSSL_PARAM *km_gen_settable_params(void *ctx, void *provctx)
{
	static const OSSL_PARAM settable[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_END
	};

	return settable;
}

static void *km_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
	struct genctx *gen = calloc(1, sizeof(*gen));

	if (!gen)
		return NULL;
	gen->prov = provctx;
	gen->selection = selection;
	if (!km_gen_set_params(gen, params)) {
		free(gen);
		return NULL;
	}
	return gen;
}

/* The key share: a fresh P-256 key created in the TPM (DESIGN.md section 2, step 2). */
static void *km_gen(void *ctx, OSSL_CALLBACK *cb, void *cbarg)
{
	struct genctx *gen = ctx;
	struct tw_key *key;

	if (!gen->group_ok)
		return NULL;
	key = km_new(gen->prov);
	if (!key)
		return NULL;
	if (!(gen->selection & OSSL_KEYMGMT_SELECT_KEYPAIR))
		return key;
	if (!gen->prov->ops.create_key ||
	    gen->prov->ops.create_key(gen->prov->ops.arg, key->pub) != TW_OK) {
		km_free(key);
		return NULL;
	}
	key->has_pub = true;
	key->tpm_bound = true;
	return key;
}

static void km_gen_cleanup(void *ctx)
{
	free(ctx);
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
	struct tw_key *key = keydata;
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS);
	if (p && !OSSL_PARAM_set_int(p, P256_BITS))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS);
	if (p && !OSSL_PARAM_set_int(p, P256_SECURITY))
		return 0;
	/* The largest DER ECDSA signature; kept equal to the default provider's. */
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE);
	if (p && !OSSL_PARAM_set_int(p, 72))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME);
	if (p && !OSSL_PARAM_set_utf8_string(p, P256_GROUP))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
	if (p && (!key->has_pub || !OSSL_PARAM_set_octet_string(p, key->pub, P256_POINT)))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PUB_KEY);
	if (p && (!key->has_pub || !OSSL_PARAM_set_octet_string(p, key->pub, P256_POINT)))
		return 0;
	return 1;
}

static const OSSL_PARAM *km_gettable_params(void *provctx)
{
	static const OSSL_PARAM gettable[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
		OSSL_PARAM_END
	};

	return gettable;
}

/* The server's key share arrives here (RFC 8446 section 4.2.8.2). */
static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
	struct tw_key *key = keydata;
	const OSSL_PARAM *p = OSSL_PARAM_locate_const(params,
						       OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
	const void *pt;
	size_t len;

	if (!p)
		return 1;
	if (key->tpm_bound)
		return 0;
	if (!OSSL_PARAM_get_octet_string_ptr(p, &pt, &len) || !p256_point_valid(pt, len))
		return 0;
	memcpy(key->pub, pt, P256_POINT);
	key->has_pub = true;
	return 1;
}

static const OSSL_PARAM *km_settable_params(void *provctx)
{
	static const OSSL_PARAM settable[] = {
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
		OSSL_PARAM_END
	};

	return settable;
}

/*
 * libssl copies the domain parameters of its key share into an empty key
 * for the server's share.  The TPM key itself is never copied.
 */
static void *km_dup(const void *keydata, int selection)
{
	const struct tw_key *key = keydata;
	struct tw_key *copy;

	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && key->tpm_bound)
		return NULL;
	copy = km_new(key->prov);
	if (copy && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && key->has_pub) {
		memcpy(copy->pub, key->pub, P256_POINT);
		copy->has_pub = true;
	}
	return copy;
}

static const char *km_query_operation_name(int operation_id)
{
	return operation_id == OSSL_OP_KEYEXCH ? "ECDH" : NULL;
}

static int km_validate(const void *keydata, int selection, int checktype)
{
	const struct tw_key *key = keydata;

	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) &&
	    (!key->has_pub || !p256_point_valid(key->pub, P256_POINT)))
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !key->tpm_bound)
		return 0;
	return 1;
}

static const OSSL_DISPATCH keymgmt_functions[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new },
	{ OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free },
	{ OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has },
	{ OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))km_gen_init },
	{ OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))km_gen_set_params },
	{ OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))km_gen_settable_params },
	{ OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))km_gen },
	{ OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))km_gen_cleanup },
	{ OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params },
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params },
	{ OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))km_set_params },
	{ OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))km_settable_params },
	{ OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup },
	{ OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_query_operation_name },
	{ OSSL_FUNC_KEYMGMT_VALIDATE, (void (*)(void))km_validate },
	{ 0, NULL }
};

/* ---- keyexch ---- */

static void *kx_newctx(void *provctx)
{
	struct exchctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx)
		ctx->prov = provctx;
	return ctx;
}

static void kx_freectx(void *vctx)
{
	free(vctx);
}

static int kx_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
	struct exchctx *ctx = vctx;
	struct tw_key *key = keydata;

	if (!key || !key->tpm_bound)
		return 0;
	ctx->key = key;
	return 1;
}

static int kx_set_peer(void *vctx, void *keydata)
{
	struct exchctx *ctx = vctx;
	struct tw_key *peer = keydata;

	if (!peer || !peer->has_pub || peer->tpm_bound)
		return 0;
	ctx->peer = peer;
	return 1;
}

/*
 * RFC 8446 section 7.4.2: the ECDHE shared secret is the X coordinate
 * of the product point, 32 bytes for P-256.  The TPM computes it (ZGen),
 * once.
 */
static int kx_derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen)
{
	struct exchctx *ctx = vctx;
	uint8_t z[32];

	*secretlen = sizeof(z);
	if (!secret)
		return 1;
	if (outlen < sizeof(z) || !ctx->key || !ctx->peer || ctx->derived ||
	    !ctx->prov->ops.derive)
		return 0;
	ctx->derived = true;
	if (ctx->prov->ops.derive(ctx->prov->ops.arg, ctx->peer->pub, z) != TW_OK)
		return 0;
	memcpy(secret, z, sizeof(z));
	OPENSSL_cleanse(z, sizeof(z));
	return 1;
}

static const OSSL_DISPATCH keyexch_functions[] = {
	{ OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))kx_newctx },
	{ OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))kx_freectx },
	{ OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))kx_init },
	{ OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))kx_set_peer },
	{ OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))kx_derive },
	{ 0, NULL }
};

/* ---- the provider ---- */

static const OSSL_ALGORITHM keymgmt_algs[] = {
	{ "EC", TW_PROPERTY, keymgmt_functions, "P-256 key share in the TPM" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM keyexch_algs[] = {
	{ "ECDH", TW_PROPERTY, keyexch_functions, "ECDH_ZGen in the TPM" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id, int *no_cache)
{
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_KEYMGMT:
		return keymgmt_algs;
	case OSSL_OP_KEYEXCH:
		return keyexch_algs;
	default:
		return NULL;
	}
}

/* RFC 8446 section 4.2.7: secp256r1 is NamedGroup 23; TLS 1.3 only. */
static unsigned int group_id = 23;
static unsigned int group_secbits = P256_SECURITY;
static int group_min_tls = TLS1_3_VERSION;
static int group_max_tls;
static int group_no_dtls = -1;
static int group_is_kem;

#define TW_TLS_GROUP(name)                                                                       \
	{                                                                                        \
		OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, name, sizeof(name)),      \
		OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL, P256_GROUP,      \
				       sizeof(P256_GROUP)),                                      \
		OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, "EC", sizeof("EC")),       \
		OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &group_id),                        \
		OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &group_secbits),        \
		OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &group_min_tls),               \
		OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &group_max_tls),               \
		OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &group_no_dtls),              \
		OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &group_no_dtls),              \
		OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &group_is_kem),                 \
		OSSL_PARAM_END                                                                   \
	}

static const OSSL_PARAM tls_groups[][11] = {
	TW_TLS_GROUP("secp256r1"),
	TW_TLS_GROUP("P-256"),
};

static int prov_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb,
				 void *arg)
{
	if (strcasecmp(capability, "TLS-GROUP"))
		return 0;
	for (size_t i = 0; i < sizeof(tls_groups) / sizeof(tls_groups[0]); i++)
		if (!cb(tls_groups[i], arg))
			return 0;
	return 1;
}

static void prov_teardown(void *provctx)
{
	free(provctx);
}

static const OSSL_DISPATCH provider_functions[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))prov_get_capabilities },
	{ 0, NULL }
};

static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		     const OSSL_DISPATCH **out, void **provctx)
{
	struct provctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return 0;
	*provctx = ctx;
	*out = provider_functions;
	return 1;
}

enum tw_code tw_provider_libctx(const struct tw_tpm_ops *ops, OSSL_LIB_CTX **out,
				struct tw_status *st)
{
	OSSL_LIB_CTX *libctx = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *prov;
	struct provctx *ctx;

	*out = NULL;
	if (!libctx)
		return tw_status_set(st, TW_E_NOMEM, "cannot make an OpenSSL library context");
	if (!OSSL_PROVIDER_load(libctx, "default"))
		goto fail;
	if (!OSSL_PROVIDER_add_builtin(libctx, TW_PROVIDER_NAME, prov_init))
		goto fail;
	prov = OSSL_PROVIDER_load(libctx, TW_PROVIDER_NAME);
	if (!prov)
		goto fail;
	ctx = OSSL_PROVIDER_get0_provider_ctx(prov);
	ctx->ops = *ops;
	*out = libctx;
	return TW_OK;
fail:
	OSSL_LIB_CTX_free(libctx);
	return tw_status_set(st, TW_E_TLS, "cannot load the OpenSSL providers");
}

enum tw_code tw_provider_check(OSSL_LIB_CTX *libctx, struct tw_status *st)
{
	EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(libctx, "EC", TW_PROVIDER_PROPQ);
	EVP_KEYEXCH *kx = EVP_KEYEXCH_fetch(libctx, "ECDH", TW_PROVIDER_PROPQ);
	const char *km_prov = km ? OSSL_PROVIDER_get0_name(EVP_KEYMGMT_get0_provider(km)) : "";
	const char *kx_prov = kx ? OSSL_PROVIDER_get0_name(EVP_KEYEXCH_get0_provider(kx)) : "";
	enum tw_code rc = TW_OK;

	if (strcmp(km_prov, TW_PROVIDER_NAME) || strcmp(kx_prov, TW_PROVIDER_NAME))
		rc = tw_status_set(st, TW_E_TLS,
				   "P-256 does not resolve to the TPM provider (keymgmt from "
				   "\"%s\", key exchange from \"%s\")",
				   km_prov, kx_prov);
	EVP_KEYMGMT_free(km);
	EVP_KEYEXCH_free(kx);
	return rc;
}
