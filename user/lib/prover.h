/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal pieces of the prover: the recording BIO, the OpenSSL provider
 * whose key share lives in the TPM, and the HTTP/1.1 client.  prove.c ties
 * them to the window.  Nothing here is part of the public API.
 */
#ifndef TLSWITNESS_PROVER_H
#define TLSWITNESS_PROVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/types.h>

#include <tlswitness/proof.h>
#include <tlswitness/status.h>

uint64_t tw_now_ns(void);

/* ---- the recording BIO (record_bio.c) ---- */

/* One direction's raw bytes, and where the next unsplit record starts. */
struct tw_stream {
	uint8_t *buf;
	size_t len, cap;
	size_t rec_start;
	bool malformed;		/* a record header with an impossible length */
};

/* A complete TLS record found in a stream, in the order it was completed. */
struct tw_wire_record {
	enum tw_dir dir;
	uint64_t offset;
	size_t len;
	uint64_t time_ns;	/* since the recorder started */
};

struct tw_transcript {
	int fd;			/* the connected socket, non-blocking; not owned */
	unsigned int io_timeout_ms;
	uint64_t t0;		/* tw_now_ns() when the connection was made */
	struct tw_stream stream[3];	/* indexed by enum tw_dir */
	size_t served;		/* server bytes handed to libssl so far */
	struct tw_wire_record *recs;
	size_t count, cap;
	uint64_t wait_ns;	/* time spent blocked on the network */
	bool eof;
	int err;		/* errno of the first socket failure, ETIMEDOUT on timeout */
};

void tw_transcript_init(struct tw_transcript *rec, int fd, unsigned int io_timeout_ms);
void tw_transcript_release(struct tw_transcript *rec);
/* A BIO (source/sink) over the recorder's socket for libssl. */
BIO *tw_transcript_bio(struct tw_transcript *rec);

/*
 * tw_transcript_pull - read what the server has already sent without handing
 * it to libssl: wait until nothing has arrived for @settle_us and the
 * server stream ends on a record boundary (bounded by the I/O timeout);
 * once the server's Finished is in, for @after_finished_us instead, if
 * that is shorter.  Returns 0, or -1 with rec->err set.
 */
int tw_transcript_pull(struct tw_transcript *rec, unsigned int settle_us,
		       unsigned int after_finished_us);

/* ---- the provider (provider.c) ---- */

/*
 * What the provider calls when libssl asks for a P-256 key share and for
 * the shared secret.  Both run inside SSL_connect.
 */
struct tw_tpm_ops {
	enum tw_code (*create_key)(void *arg, uint8_t pub[65]);
	enum tw_code (*derive)(void *arg, const uint8_t peer[65], uint8_t z[32]);
	void *arg;
};

#define TW_PROVIDER_NAME	"tlswitness"
#define TW_PROVIDER_PROPQ	"?tlswitness.tpm=yes"

/*
 * tw_provider_libctx - a private library context with the default
 * provider and ours, ours wired to @ops.  Free with OSSL_LIB_CTX_free.
 */
enum tw_code tw_provider_libctx(const struct tw_tpm_ops *ops, OSSL_LIB_CTX **libctx,
				struct tw_status *st);

/* Fail closed: P-256 keymgmt and ECDH must resolve to our provider in @libctx. */
enum tw_code tw_provider_check(OSSL_LIB_CTX *libctx, struct tw_status *st);

/* ---- HTTP/1.1 (http.c) ---- */

struct tw_url {
	char *host;		/* without brackets for IPv6 literals */
	char *port;
	char *target;		/* path and query, at least "/" */
	char *authority;	/* for the Host header */
	bool numeric;		/* host is an IP literal: no SNI */
};

enum tw_code tw_url_parse(const char *url, struct tw_url *u, struct tw_status *st);
void tw_url_release(struct tw_url *u);

enum tw_code tw_http_request(const struct tw_url *u, const char *const *headers,
			     size_t header_count, const uint8_t *body, size_t body_len,
			     uint8_t **req, size_t *req_len, struct tw_status *st);

struct tw_http_response {
	int status;
	uint8_t *body;
	size_t body_len, body_cap;
	bool done;		/* the message is complete */
	/* parser state */
	int state;
	uint8_t *head;
	size_t head_len, head_cap;
	bool chunked, has_length, head_request;
	uint64_t remaining;	/* of the body, or of the current chunk */
};

/* Feed response bytes; sets done when the message is complete. */
enum tw_code tw_http_feed(struct tw_http_response *r, const uint8_t *buf, size_t len,
			  struct tw_status *st);
/* The connection ended: fine for a body delimited by the close. */
enum tw_code tw_http_eof(struct tw_http_response *r, struct tw_status *st);
void tw_http_response_release(struct tw_http_response *r);

#endif
