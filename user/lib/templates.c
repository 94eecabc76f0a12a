// SPDX-License-Identifier: BSD-2-Clause
/*
 * Object templates (TPM 2.0 Part 2, TPMT_PUBLIC).  Every
 * object is ECC P-256 with SHA-256 as its name algorithm, an empty
 * authPolicy and an empty unique field.
 */
#include <string.h>
#include "templates.h"

static void tw_template_ecc(TPMT_PUBLIC *t, TPMA_OBJECT attrs)
{
	memset(t, 0, sizeof(*t));
	t->type = TPM2_ALG_ECC;
	t->nameAlg = TPM2_ALG_SHA256;
	t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | attrs;
	t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

void tw_template_parent(TPMT_PUBLIC *t)
{
	TPMT_SYM_DEF_OBJECT *sym = &t->parameters.eccDetail.symmetric;

	tw_template_ecc(t, TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT);
	sym->algorithm = TPM2_ALG_AES;
	sym->keyBits.aes = 128;
	sym->mode.aes = TPM2_ALG_CFB;
}

void tw_template_ecdh(TPMT_PUBLIC *t)
{
	tw_template_ecc(t, TPMA_OBJECT_DECRYPT);
}

void tw_template_ak(TPMT_PUBLIC *t)
{
	TPMT_ECC_SCHEME *scheme = &t->parameters.eccDetail.scheme;

	tw_template_ecc(t, TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT);
	scheme->scheme = TPM2_ALG_ECDSA;
	scheme->details.ecdsa.hashAlg = TPM2_ALG_SHA256;
}
