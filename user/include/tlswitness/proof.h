/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The proof file: what the prover recorded and the TPM signed, as one
 * versioned JSON document.  Documentation/proof-format.rst defines every
 * field; this header is its in-memory form.  The reader is strict and a
 * pure function of its input: it accepts only what the format defines.
 */
#ifndef TLSWITNESS_PROOF_H
#define TLSWITNESS_PROOF_H

#include <stddef.h>
#include <stdint.h>
#include <tlswitness/status.h>
#include <tlswitness/audit.h>

#define TW_PROOF_VERSION	1
#define TW_PROOF_FORMAT		"tlswitness proof"

/* Limits the reader enforces (Documentation/proof-format.rst, "Limits"). */
#define TW_PROOF_MAX_BYTES	(256u << 20)	/* whole file */
#define TW_PROOF_MAX_RECORDS	(1u << 20)
#define TW_PROOF_MAX_RECORD	(5 + 16384 + 256)	/* RFC 8446 section 5.2 */
#define TW_PROOF_MAX_NONCE	64
#define TW_PROOF_MAX_NAME	255
#define TW_PROOF_MAX_ENTRIES	64	/* audit log entries */
#define TW_PROOF_MAX_TPM_BUF	4096	/* one TPM command or response */
#define TW_PROOF_MAX_COMMITS	16

/* Domain-separation label of qualifyingData (no terminating NUL is hashed). */
#define TW_PROOF_QD_LABEL	"tlswitness proof v1 qualifying data"

enum tw_dir {
	TW_DIR_CLIENT = 1,	/* client to server */
	TW_DIR_SERVER = 2,	/* server to client */
};

enum tw_channel {
	TW_CHANNEL_RESERVED = 1,	/* /dev/tpmreserve0: the window was exclusive by design */
	TW_CHANNEL_FALLBACK = 2,	/* any other TCTI: exclusivity held by luck and retries */
};

/* One TLS record exactly as it crossed the wire (header included). */
struct tw_proof_record {
	enum tw_dir dir;
	uint64_t offset;	/* of its first byte in its direction's byte stream */
	uint64_t time_ns;	/* when its last byte crossed the socket, since connect */
	uint8_t *data;
	size_t len;
};

/* An audited commit of the server's bytes [0, server_bytes). */
struct tw_proof_commit {
	size_t entry;		/* index of the committing command in the audit log */
	uint64_t server_bytes;
};

struct tw_proof {
	unsigned int version;

	/* TLS */
	char *server_name;	/* the SNI the client sent */
	char *alpn;		/* negotiated protocol, NULL when none */
	uint16_t cipher_suite;	/* IANA TLS cipher suite value */
	struct tw_proof_record *records;
	size_t record_count;

	/* TPM */
	enum tw_channel channel;
	unsigned int retries;	/* attempts abandoned on TPM_RC_EXCLUSIVE before this one */
	struct tw_audit_log log;	/* every command and response of the window */
	size_t reset_entry;	/* the command that reset the audit digest (key creation) */
	size_t zgen_entry;	/* TPM2_ECDH_ZGen */
	struct tw_proof_commit *commits;
	size_t commit_count;
	/*
	 * The qualifyingData binds records [0, bound_records): those recorded
	 * when the attestation was made, the whole handshake through the
	 * client's Finished.  Later records (the HTTP exchange) are not bound.
	 */
	size_t bound_records;
	uint8_t *attest;	/* TPMS_ATTEST, marshalled (the TPM2B_ATTEST contents) */
	size_t attest_len;
	uint8_t *signature;	/* TPMT_SIGNATURE, marshalled */
	size_t signature_len;
	uint8_t *ak_public;	/* TPM2B_PUBLIC of the AK, marshalled */
	size_t ak_public_len;

	uint8_t nonce[TW_PROOF_MAX_NONCE];	/* the verifier's nonce, may be empty */
	size_t nonce_len;
};

/* Release everything @p owns and zero it; @p itself is not freed. */
void tw_proof_clear(struct tw_proof *p);

/*
 * tw_proof_transcript_hash - SHA-256 over the first @count records in
 * order (all of them if @count is larger), each as direction (1 byte) ||
 * time_ns (8 bytes, big endian) || length (4 bytes, big endian) || record
 * bytes.  qualifyingData takes it over p->bound_records records.
 */
void tw_proof_transcript_hash(const struct tw_proof *p, size_t count, uint8_t out[32]);

/*
 * tw_proof_qualifying_data - the qualifyingData the AK signs:
 * SHA-256(TW_PROOF_QD_LABEL || nonce length (1 byte) || nonce ||
 * transcript hash).
 */
void tw_proof_qualifying_data(const uint8_t *nonce, size_t nonce_len,
			      const uint8_t transcript_hash[32], uint8_t out[32]);

/* Server stream bytes [0, n) concatenated from the records; 0 if n is beyond them. */
int tw_proof_server_digest(const struct tw_proof *p, uint64_t n, uint8_t out[32]);

/* Serialise to JSON text (malloc'ed, NUL-terminated, ends in a newline). */
enum tw_code tw_proof_to_json(const struct tw_proof *p, char **text, size_t *len,
			      struct tw_status *st);

/*
 * tw_proof_write_file - write atomically: a temporary file in the same
 * directory, fsync, rename over @path, fsync the directory.  On failure
 * nothing is left at @path that was not there before.
 */
enum tw_code tw_proof_write_file(const struct tw_proof *p, const char *path,
				 struct tw_status *st);

/*
 * tw_proof_parse - parse @len bytes of JSON into @p (zeroed first).
 * Strict: unknown version, a missing, extra or duplicated field, a wrong
 * type, bad base64 or hex, a size beyond the limits, or records that do not
 * tile their stream are rejected with the field named in @st.
 */
enum tw_code tw_proof_parse(const char *text, size_t len, struct tw_proof *p,
			    struct tw_status *st);

/* Read @path (at most TW_PROOF_MAX_BYTES) and parse it. */
enum tw_code tw_proof_read_file(const char *path, struct tw_proof *p, struct tw_status *st);

#endif
