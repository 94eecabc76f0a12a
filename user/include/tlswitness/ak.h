/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The attestation key (AK): an endorsement-hierarchy primary made from
 * the template in Documentation/ak.rst (restricted ECDSA P-256 signing
 * key, SHA-256).  A window makes it in its set-up; tw_ak_read() makes it
 * alone, for enrolling it with a verifier.  Because TPM2_CreatePrimary is
 * deterministic, both give the same key on the same TPM until the
 * endorsement seed changes.  Binding the AK to the TPM's EK certificate
 * (credential activation) is a later addition to this header.
 */
#ifndef TLSWITNESS_AK_H
#define TLSWITNESS_AK_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <tlswitness/status.h>

/* The largest marshalled TPM2B_PUBLIC the library hands out. */
#define TW_AK_PUBLIC_MAX 1024

/*
 * tw_ak_read - make the AK on the TPM behind @tcti (a tpm2-tss TCTI
 * configuration, NULL as for a window), copy its marshalled TPM2B_PUBLIC
 * into @pub (TW_AK_PUBLIC_MAX bytes) and flush it.
 */
enum tw_code tw_ak_read(const char *tcti, uint8_t *pub, size_t *len, struct tw_status *st);

/* tw_ak_public_key - an OpenSSL key from a marshalled TPM2B_PUBLIC (ECC P-256 only). */
enum tw_code tw_ak_public_key(const uint8_t *pub, size_t len, EVP_PKEY **key,
			      struct tw_status *st);

/* tw_ak_check_template - does the public area match the AK template exactly? */
enum tw_code tw_ak_check_template(const uint8_t *pub, size_t len, struct tw_status *st);

/*
 * tw_ak_verify - check an ECDSA-SHA256 TPMT_SIGNATURE (marshalled) by the
 * AK over the signed TPMS_ATTEST bytes.  TW_E_VERIFY if it does not verify.
 */
enum tw_code tw_ak_verify(const uint8_t *pub, size_t pub_len, const uint8_t *attest,
			  size_t attest_len, const uint8_t *sig, size_t sig_len,
			  struct tw_status *st);

/* tw_ak_name - the AK's TPM name (nameAlg || SHA-256(publicArea)), 34 bytes. */
enum tw_code tw_ak_name(const uint8_t *pub, size_t len, uint8_t name[34], struct tw_status *st);

/*
 * tw_ak_qualified_name - the AK's qualified name as TPMS_ATTEST's
 * qualifiedSigner carries it (TPM 2.0 Part 1, Names): for a primary,
 * nameAlg || SHA-256(hierarchy handle || name), 34 bytes.
 */
enum tw_code tw_ak_qualified_name(const uint8_t *pub, size_t len, uint32_t hierarchy,
				  uint8_t qn[34], struct tw_status *st);

#endif
