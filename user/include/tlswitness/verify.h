/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The verifier: offline checking of a proof (DESIGN.md section 3,
 * Documentation/verifier.rst).  tw_verify() runs the checks in a fixed
 * order and stops at the first that fails, naming it by a check id and a
 * message.  On success it reports what the TPM vouches for: the handshake
 * and, record by record, whether a server record is attested (committed
 * before ZGen) or only consistent with the session keys.  Either way it
 * records which checks ran to their end.
 */
#ifndef TLSWITNESS_VERIFY_H
#define TLSWITNESS_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <tss2/tss2_tpm2_types.h>
#include <tlswitness/audit.h>
#include <tlswitness/proof.h>
#include <tlswitness/status.h>
#include <tlswitness/tls13.h>

/*
 * The checks, in the order tw_verify() runs them.  Each belongs to one of
 * the seven steps of Documentation/verifier.rst; tw_check_name() gives its
 * stable name ("ak-signature"), tw_check_step() its step.
 */
enum tw_check {
	TW_CHECK_NONE = 0,
	TW_CHECK_PROOF_FILE,	  /* 1: version, schema, sizes, encodings */
	TW_CHECK_ATTESTATION,	  /* 2: a TPM-made session audit TPMS_ATTEST */
	TW_CHECK_AK_TRUSTED,	  /* 2: the proof's AK is the one the verifier trusts */
	TW_CHECK_AK_SIGNATURE,	  /* 2: the AK signed the attestation */
	TW_CHECK_QUALIFYING_DATA, /* 2: it binds the nonce and the transcript */
	TW_CHECK_EXCLUSIVE,	  /* 2: exclusiveSession is YES */
	TW_CHECK_AUDIT_LOG,	  /* 3: the log is what the TPM processed (framing, HMACs) */
	TW_CHECK_AUDIT_DIGEST,	  /* 3: the replayed digest is the signed one */
	TW_CHECK_SEQUENCE,	  /* 4: exactly the proving sequence */
	TW_CHECK_PARENT,	  /* 4: the key's parent is an ordinary storage key */
	TW_CHECK_KEY,		  /* 5: the ECDH key's type and attributes */
	TW_CHECK_COMMIT,	  /* 6: each commit is the digest of the bytes it claims */
	TW_CHECK_CLIENT_SHARE,	  /* 6: the ClientHello share is the TPM key */
	TW_CHECK_SERVER_SHARE,	  /* 6: the ServerHello share is the ZGen input */
	TW_CHECK_TLS,		  /* 7: the TLS 1.3 session (RFC 8446) */
	TW_CHECK_BOUND,		  /* 7: the bound records hold the whole handshake */
	TW_CHECK_COUNT
};

/*
 * What became of one check in a run of tw_verify(): set as the checks run,
 * so that a report never calls a check passed that did not run to its end.
 * A check is unfinished when a part of it ran and held but the rest did
 * not run: the audit replay checks the log, the digest, the sequence, the
 * key and the attestation's command in one pass, which stops at the first
 * fault, and some checks have parts in two steps.
 */
enum tw_check_state {
	TW_STATE_NOT_RUN = 0, /* no part of it ran */
	TW_STATE_UNFINISHED,  /* begun, not run to its end; nothing is claimed for it */
	TW_STATE_PASSED,      /* every part ran and held */
	TW_STATE_FAILED,      /* the check that failed: res->failed */
};

const char *tw_check_name(enum tw_check check);
/* The step (1 to 7) a check belongs to; 0 for TW_CHECK_NONE. */
unsigned int tw_check_step(enum tw_check check);
/* What the check establishes, in a few words ("the AK's signature over the attestation"). */
const char *tw_check_title(enum tw_check check);
/* "not run", "not finished", "passed", "failed". */
const char *tw_check_state_name(enum tw_check_state state);

struct tw_verify_opts {
	/*
	 * The AK the verifier trusts: an OpenSSL public key (from PEM), or
	 * the marshalled TPM2B_PUBLIC that `tlswitness ak` writes, or both.
	 */
	EVP_PKEY *ak_key;
	const uint8_t *ak_public;
	size_t ak_public_len;
	X509_STORE *trust; /* the server certificate's trust anchors */
	/* The verifier's nonce; NULL when it gave none (freshness unchecked). */
	const uint8_t *nonce;
	size_t nonce_len;
	/*
	 * The name the certificate must carry.  NULL: the proof's
	 * server_name, which must be the ClientHello's SNI; without SNI
	 * nothing signs it, and the verification fails unless a host is given.
	 */
	const char *host;
	time_t verify_time; /* when the certificates must be valid; 0: now */
};

/* How far the TPM vouches for a record (Documentation/claims.rst). */
enum tw_record_class {
	TW_RECORD_ATTESTED = 1,	  /* a server record wholly committed before ZGen */
	TW_RECORD_CONSISTENT,	  /* server bytes after: consistent with the keys, no more */
	TW_RECORD_CLIENT,	  /* sent by the prover */
	TW_RECORD_UNAUTHENTICATED, /* no AEAD tag, not in the transcript: compatibility CCS */
};

const char *tw_record_class_name(enum tw_record_class cls);

struct tw_verify_record {
	size_t proof_index; /* in proof->records */
	enum tw_tls_dir dir;
	const struct tw_tls_record *tls; /* what the TLS verification found in it */
	enum tw_record_class cls;
	int bound; /* among the records the attestation's qualifyingData binds */
};

struct tw_verify_result {
	enum tw_check failed; /* the first check that failed; TW_CHECK_NONE if none */
	enum tw_check_state checks[TW_CHECK_COUNT]; /* each check's state, by enum tw_check */

	/* Filled as the checks get to them; complete when tw_verify() returns TW_OK. */
	char host[TW_PROOF_MAX_NAME + 1]; /* the name the certificate was checked for */
	int host_given;			  /* it is the verifier's (opts->host), not the SNI */
	int nonce_checked;		  /* the verifier's nonce was given and bound */
	TPMS_ATTEST attest;		  /* the signed attestation, parsed */
	struct tw_audit_replay *replay;
	struct tw_tls_session *tls;

	/*
	 * The server stream's bytes [0, committed_bytes) committed before ZGen.
	 * Not all of them are attested: a commit may end inside a record, and
	 * the change_cipher_spec among them has no tag.  Records' cls says
	 * what is attested.
	 */
	uint64_t committed_bytes;
	struct tw_verify_record *records; /* one per proof record, in proof order */
	size_t record_count;
	size_t attested, consistent, client, unauthenticated; /* records of each class */
};

/*
 * tw_verify - check @proof against @opts.  TW_OK when every check passed;
 * then @res describes what the proof establishes.  Otherwise res->failed
 * names the first failed check and @st its reason: TW_E_VERIFY for a
 * failed check, TW_E_PROOF for a proof that is not understood (check 1),
 * TW_E_USAGE for bad options, TW_E_NOMEM.  Release @res with
 * tw_verify_result_free() in every case.
 */
enum tw_code tw_verify(const struct tw_proof *proof, const struct tw_verify_opts *opts,
		       struct tw_verify_result *res, struct tw_status *st);

/*
 * tw_verify_file - read and parse @path (check 1; TW_E_IO when the file
 * cannot be read), then tw_verify().  @proof receives the parsed proof;
 * release it with tw_proof_clear().
 */
enum tw_code tw_verify_file(const char *path, const struct tw_verify_opts *opts,
			    struct tw_proof *proof, struct tw_verify_result *res,
			    struct tw_status *st);

void tw_verify_result_free(struct tw_verify_result *res);

#endif
