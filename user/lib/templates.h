/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal: the public-area templates of the objects a window makes
 * (Documentation/sequence.rst and ak.rst describe them).
 */
#ifndef TW_TEMPLATES_H
#define TW_TEMPLATES_H

#include <tss2/tss2_tpm2_types.h>

/* Storage parent: restricted decrypt ECC P-256, AES-128-CFB, made in TPM_RH_NULL. */
void tw_template_parent(TPMT_PUBLIC *t);
/* The TLS key share: unrestricted decrypt ECC P-256, created under the parent. */
void tw_template_ecdh(TPMT_PUBLIC *t);
/* The AK: restricted ECDSA P-256 SHA-256 signing key, endorsement primary. */
void tw_template_ak(TPMT_PUBLIC *t);

#endif
