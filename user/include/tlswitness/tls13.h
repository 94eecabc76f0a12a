/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS 1.3 transcript verification (RFC 8446).
 *
 * Input: the raw bytes each side of a TLS 1.3 connection sent (a sequence of
 * TLS records: 5-byte header + fragment), the ECDHE shared secret Z, a trust
 * store and the expected host name.  tw_tls13_verify() re-runs the key
 * schedule from Z, decrypts and authenticates every record of both
 * directions, checks the server's certificate chain, host name,
 * CertificateVerify and Finished, and the client's Finished, and describes
 * every record.  It accepts only what it fully understands; the first check
 * that fails is named in the status message.
 */
#ifndef TLSWITNESS_TLS13_H
#define TLSWITNESS_TLS13_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509_vfy.h>
#include <tlswitness/status.h>

/* Who sent a byte stream. */
enum tw_tls_dir {
	TW_TLS_CLIENT = 0,
	TW_TLS_SERVER = 1,
};

/* ContentType (RFC 8446 5.1) */
#define TW_TLS_CT_CHANGE_CIPHER_SPEC 20
#define TW_TLS_CT_ALERT		     21
#define TW_TLS_CT_HANDSHAKE	     22
#define TW_TLS_CT_APPLICATION_DATA   23

/* HandshakeType (RFC 8446 4) */
#define TW_TLS_HS_CLIENT_HELLO	       1
#define TW_TLS_HS_SERVER_HELLO	       2
#define TW_TLS_HS_NEW_SESSION_TICKET   4
#define TW_TLS_HS_ENCRYPTED_EXTENSIONS 8
#define TW_TLS_HS_CERTIFICATE	       11
#define TW_TLS_HS_CERTIFICATE_REQUEST  13
#define TW_TLS_HS_CERTIFICATE_VERIFY   15
#define TW_TLS_HS_FINISHED	       20
#define TW_TLS_HS_KEY_UPDATE	       24
/* A ServerHello that is a HelloRetryRequest is reported with this type. */
#define TW_TLS_HS_HELLO_RETRY_REQUEST 0x102

/* CipherSuite (RFC 8446 B.4) */
#define TW_TLS_AES_128_GCM_SHA256	0x1301
#define TW_TLS_AES_256_GCM_SHA384	0x1302
#define TW_TLS_CHACHA20_POLY1305_SHA256 0x1303

/* NamedGroup (RFC 8446 4.2.7) */
#define TW_TLS_GROUP_SECP256R1 0x0017
#define TW_TLS_GROUP_SECP384R1 0x0018
#define TW_TLS_GROUP_SECP521R1 0x0019
#define TW_TLS_GROUP_X25519    0x001d
#define TW_TLS_GROUP_X448      0x001e

#define TW_TLS_MAX_SHARE 133 /* uncompressed P-521 point */
#define TW_TLS_MAX_HASH	 48  /* SHA-384 */

/* How a record was protected (RFC 8446 5.2, 7.3). */
enum tw_tls_protection {
	TW_TLS_PLAINTEXT,	 /* TLSPlaintext: hellos, compatibility CCS, early alerts */
	TW_TLS_HANDSHAKE_KEYS,	 /* [sender]_handshake_traffic_secret */
	TW_TLS_APPLICATION_KEYS, /* [sender]_application_traffic_secret_N */
};

/* One record as it appears in its direction's stream. */
struct tw_tls_record {
	enum tw_tls_dir dir;
	size_t index;  /* among this direction's records, from 0 */
	size_t offset; /* of the record header in the direction's stream */
	size_t length; /* header + fragment */
	uint8_t type;  /* content type, after decryption for protected records */
	enum tw_tls_protection protection;
	unsigned int key_generation; /* KeyUpdates before it (application keys) */
	uint64_t seq;		     /* AEAD sequence number under its keys */
	size_t content_len;	     /* TLSInnerPlaintext.content (the fragment when plaintext) */
	size_t padding_len;	     /* zero bytes after the inner content type */
	size_t msg_first;	     /* handshake: session->messages[msg_first] ... */
	size_t msg_count;	     /*   ... the messages that have bytes in this record */
	size_t app_offset;	     /* application data: offset of its content in app_data */
	uint8_t alert_level;	     /* alert: level and description */
	uint8_t alert_desc;
};

/* One handshake message, in the order the handshake processed it. */
struct tw_tls_message {
	enum tw_tls_dir dir;
	unsigned int type;   /* HandshakeType, or TW_TLS_HS_HELLO_RETRY_REQUEST */
	size_t length;	     /* body length (without the 4-byte header) */
	size_t first_record; /* indices in its direction's records */
	size_t last_record;
};

struct tw_tls_direction {
	struct tw_tls_record *records;
	size_t nrecords;
	uint8_t *app_data; /* decrypted application data, concatenated */
	size_t app_len;
	/* Stream offset just past the record that carries this side's Finished. */
	size_t finished_end;
	unsigned int key_updates;
	int close_notify; /* a close_notify alert ended the direction */
};

struct tw_tls_cert {
	uint8_t *der;
	size_t len;
};

/* Secrets of the key schedule (RFC 8446 7.1), hash_len bytes each. */
struct tw_tls_secrets {
	size_t hash_len;
	uint8_t handshake_secret[TW_TLS_MAX_HASH];
	uint8_t master_secret[TW_TLS_MAX_HASH];
	uint8_t client_handshake_traffic[TW_TLS_MAX_HASH];
	uint8_t server_handshake_traffic[TW_TLS_MAX_HASH];
	uint8_t client_application_traffic_0[TW_TLS_MAX_HASH];
	uint8_t server_application_traffic_0[TW_TLS_MAX_HASH];
	uint8_t exporter_master[TW_TLS_MAX_HASH];
	uint8_t resumption_master[TW_TLS_MAX_HASH];
};

/* What the verified transcript says.  Freed by tw_tls13_session_free(). */
struct tw_tls_session {
	uint16_t cipher_suite;
	uint16_t group;	     /* the key exchange group the ServerHello chose */
	uint16_t sig_scheme; /* the server's CertificateVerify SignatureScheme */
	int hello_retry;     /* a HelloRetryRequest happened (RFC 8446 4.1.4) */
	/* The key shares of the chosen group: the ClientHello's (the second
	 * one after a HelloRetryRequest) and the ServerHello's. */
	uint8_t client_share[TW_TLS_MAX_SHARE];
	size_t client_share_len;
	uint8_t server_share[TW_TLS_MAX_SHARE];
	size_t server_share_len;
	uint8_t client_random[32];
	uint8_t server_random[32];
	char sni[256];	   /* server_name host_name of the ClientHello, "" if none */
	uint8_t alpn[256]; /* the protocol the server selected, alpn_len 0 if none */
	size_t alpn_len;
	struct tw_tls_cert *certs; /* server chain as sent, leaf first */
	size_t ncerts;
	struct tw_tls_message *messages;
	size_t nmessages;
	struct tw_tls_direction dir[2]; /* indexed by enum tw_tls_dir */
	unsigned int tickets;		/* NewSessionTicket messages seen */
	struct tw_tls_secrets secrets;
};

/* tw_tls_params.flags */
#define TW_TLS_SKIP_CHAIN 0x1 /* tests only: do not verify the chain */
#define TW_TLS_SKIP_HOST  0x2 /* tests only: do not check the host name */

struct tw_tls_params {
	const uint8_t *stream[2]; /* indexed by enum tw_tls_dir */
	size_t stream_len[2];
	const uint8_t *z; /* ECDHE shared secret (the X coordinate for ECDH) */
	size_t z_len;
	X509_STORE *trust;	/* required unless TW_TLS_SKIP_CHAIN */
	const char *host;	/* required unless TW_TLS_SKIP_HOST */
	time_t verify_time;	/* certificate validity time; 0 means now */
	uint16_t require_group; /* 0: any; the product demands TW_TLS_GROUP_SECP256R1 */
	unsigned int flags;
	/*
	 * Called once, when both key shares are known (session->client_share,
	 * server_share) and before any key is derived; a failure it returns
	 * ends the verification with its own status.  May be NULL.
	 */
	enum tw_code (*on_key_shares)(void *arg, const struct tw_tls_session *s,
				      struct tw_status *st);
	/*
	 * Failure messages name a record by its direction and its index among
	 * that direction's records ("server record 8").  When the caller
	 * numbers the records otherwise (a proof, both directions in one
	 * list), this gives in *number the caller's number of the record
	 * that starts at @offset of @dir's stream and returns 0, and the
	 * message names both: "record 12 (server record 8)".  It returns
	 * nonzero when no record of the caller's starts there.  May be NULL.
	 */
	int (*record_number)(void *arg, enum tw_tls_dir dir, size_t offset, size_t *number);
	void *arg;
};

/*
 * tw_tls13_verify - verify a recorded TLS 1.3 connection.
 * On TW_OK, *@out holds the description of the session.  On failure *@out
 * is NULL and @st names the first failed check (TW_E_VERIFY), or the
 * resource that ran out (TW_E_NOMEM), or the bad argument (TW_E_USAGE).
 */
enum tw_code tw_tls13_verify(const struct tw_tls_params *p, struct tw_tls_session **out,
			     struct tw_status *st);
void tw_tls13_session_free(struct tw_tls_session *s);

/* Names for people: "handshake", "server_hello", "close_notify", ... */
const char *tw_tls_content_type_name(uint8_t type);
const char *tw_tls_handshake_type_name(unsigned int type);
const char *tw_tls_alert_name(uint8_t desc);
const char *tw_tls_cipher_suite_name(uint16_t suite);
const char *tw_tls_dir_name(enum tw_tls_dir dir);

#endif
