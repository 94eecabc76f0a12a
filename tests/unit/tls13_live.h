/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Real TLS 1.3 sessions for the verifier's tests: an OpenSSL libssl client
 * and server in one process, joined by memory BIOs, with every byte each
 * side sends recorded.  Z is computed the way a peer would: the client's
 * ephemeral private key is taken from libssl when it writes each ClientHello
 * (SSL_get_tmp_key), the server's share after the handshake
 * (SSL_get_peer_tmp_key), and EVP_PKEY_derive() joins them.  The keylog
 * callback gives libssl's own traffic secrets to compare against.
 */
#ifndef TLSWITNESS_TESTS_TLS13_LIVE_H
#define TLSWITNESS_TESTS_TLS13_LIVE_H

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "tls13_test.h"

/* A certificate and its key. */
struct live_cert {
	EVP_PKEY *key;
	X509 *cert;
};

static EVP_PKEY *live_key(const char *kind)
{
	if (!strcmp(kind, "P-256") || !strcmp(kind, "P-384"))
		return EVP_EC_gen(kind);
	if (!strcmp(kind, "RSA"))
		return EVP_RSA_gen(2048);
	if (!strcmp(kind, "RSA-PSS")) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
		EVP_PKEY *key = NULL;

		if (ctx && EVP_PKEY_keygen_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1)
			EVP_PKEY_generate(ctx, &key);
		EVP_PKEY_CTX_free(ctx);
		return key;
	}
	return EVP_PKEY_Q_keygen(NULL, NULL, kind);
}

static int live_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/*
 * Make a certificate for a new @kind key named @cn, signed by @issuer (self
 * when NULL).  @san is a subjectAltName value or NULL for a CA.
 */
static int live_cert_make(struct live_cert *c, const char *kind, const char *cn,
			  const struct live_cert *issuer, const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509 *icert;
	EVP_PKEY *ikey;
	int ok;

	c->key = live_key(kind);
	c->cert = x;
	if (!x || !c->key)
		return 0;
	icert = issuer ? issuer->cert : x;
	ikey = issuer ? issuer->key : c->key;
	ok = X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) &&
	     X509_set_pubkey(x, c->key) &&
	     X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) &&
	     X509_set_issuer_name(x, X509_get_subject_name(icert));
	if (ok && san)
		ok = live_ext(x, icert, NID_basic_constraints, "critical,CA:FALSE") &&
		     live_ext(x, icert, NID_key_usage, "critical,digitalSignature") &&
		     live_ext(x, icert, NID_ext_key_usage, "serverAuth") &&
		     live_ext(x, icert, NID_subject_alt_name, san);
	else if (ok)
		ok = live_ext(x, icert, NID_basic_constraints, "critical,CA:TRUE") &&
		     live_ext(x, icert, NID_key_usage, "critical,keyCertSign,cRLSign");
	ok = ok && live_ext(x, icert, NID_subject_key_identifier, "hash") &&
	     X509_sign(x, ikey, EVP_PKEY_is_a(ikey, "ED25519") ? NULL : EVP_sha256()) > 0;
	return ok;
}

static __attribute__((unused)) void live_cert_free(struct live_cert *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
	memset(c, 0, sizeof(*c));
}

struct live_opts {
	const char *suites;	   /* TLS 1.3 cipher suites, "" for OpenSSL's default */
	const char *client_groups; /* NULL for "P-256", what the product uses */
	const char *server_groups;
	const struct live_cert *leaf;
	const struct live_cert *intermediate; /* sent after the leaf, or NULL */
	const char *sni;
	int key_update;	     /* both sides send KeyUpdate mid-stream */
	size_t padding;	     /* block padding on both sides, 0 for none */
	size_t max_fragment; /* the server's max_send_fragment, 0 for default */
	int no_compat;	     /* clear SSL_OP_ENABLE_MIDDLEBOX_COMPAT */
	int cert_request;    /* the server asks for a client certificate */
	size_t response_len;
};

struct live_session {
	struct bytes stream[2]; /* [0] client to server, [1] server to client */
	uint8_t z[66];
	size_t z_len;
	struct bytes request; /* application data each side sent */
	struct bytes response;
	/* libssl's secrets from the keylog callback, hash_len bytes */
	uint8_t c_hs[48], s_hs[48], c_ap[48], s_ap[48];
	size_t secret_len;
	EVP_PKEY *client_key; /* the last ClientHello's ephemeral key */
};

static struct live_session *live_current;

static void live_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
			SSL *ssl, void *arg)
{
	const uint8_t *b = buf;
	EVP_PKEY *k = NULL;

	(void)version;
	(void)arg;
	if (!write_p || content_type != SSL3_RT_HANDSHAKE || len < 1 || b[0] != 1)
		return;
	if (SSL_get_tmp_key(ssl, &k) == 1) {
		EVP_PKEY_free(live_current->client_key);
		live_current->client_key = k;
	}
}

static void live_keylog_cb(const SSL *ssl, const char *line)
{
	static const struct {
		const char *label;
		size_t off;
	} labels[] = {
		{"CLIENT_HANDSHAKE_TRAFFIC_SECRET ", offsetof(struct live_session, c_hs)},
		{"SERVER_HANDSHAKE_TRAFFIC_SECRET ", offsetof(struct live_session, s_hs)},
		{"CLIENT_TRAFFIC_SECRET_0 ", offsetof(struct live_session, c_ap)},
		{"SERVER_TRAFFIC_SECRET_0 ", offsetof(struct live_session, s_ap)},
	};
	size_t i, n;
	const char *hex;
	uint8_t *dst;

	(void)ssl;
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		if (strncmp(line, labels[i].label, strlen(labels[i].label)))
			continue;
		hex = strchr(line + strlen(labels[i].label), ' ');
		if (!hex)
			return;
		hex++;
		dst = (uint8_t *)live_current + labels[i].off;
		for (n = 0; n < 48 && hex_nibble(hex[2 * n]) >= 0; n++)
			dst[n] =
				(uint8_t)(hex_nibble(hex[2 * n]) << 4 | hex_nibble(hex[2 * n + 1]));
		live_current->secret_len = n;
	}
}

/* Move what @from wrote to @to, recording it. */
static void live_pump(BIO *from, BIO *to, struct bytes *rec)
{
	uint8_t buf[16384];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0) {
		bytes_add(rec, buf, (size_t)n);
		BIO_write(to, buf, n);
	}
}

struct live_pair {
	SSL *c, *s;
	BIO *c_out, *c_in, *s_out, *s_in; /* as seen by each SSL */
	struct live_session *ls;
};

static void live_pump_both(struct live_pair *lp)
{
	live_pump(lp->c_out, lp->s_in, &lp->ls->stream[0]);
	live_pump(lp->s_out, lp->c_in, &lp->ls->stream[1]);
}

/* Read exactly @len bytes from @ssl, pumping as needed; -1 on failure. */
static int live_read(struct live_pair *lp, SSL *ssl, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int n, spins = 0;

	while (got < len && spins < 100000) {
		n = SSL_read(ssl, buf + got, (int)(len - got > 16384 ? 16384 : len - got));
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
			return -1;
		live_pump_both(lp);
		spins++;
	}
	return got == len ? 0 : -1;
}

static int live_write(struct live_pair *lp, SSL *ssl, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	int n;

	while (done < len) {
		n = SSL_write(ssl, buf + done, (int)(len - done));
		if (n <= 0)
			return -1;
		done += (size_t)n;
		live_pump_both(lp);
	}
	return 0;
}

static SSL_CTX *live_ctx(const SSL_METHOD *method, const struct live_opts *o, const char *groups)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	if (o->suites && *o->suites && SSL_CTX_set_ciphersuites(ctx, o->suites) != 1)
		goto bad;
	if (SSL_CTX_set1_groups_list(ctx, groups ? groups : "P-256") != 1)
		goto bad;
	if (o->padding)
		SSL_CTX_set_block_padding(ctx, o->padding);
	if (o->no_compat)
		SSL_CTX_clear_options(ctx, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

static int live_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char want[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, want, sizeof(want) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* Run one session; 0 on success, else -1 with @err set. */
static int live_run(const struct live_opts *o, struct live_session *ls, char *err, size_t errlen)
{
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	SSL_CTX *cctx = NULL, *sctx = NULL;
	struct live_pair lp = {0};
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *dctx = NULL;
	uint8_t *buf = NULL;
	size_t i;
	int ret = -1, spins;

	memset(ls, 0, sizeof(*ls));
	err[0] = 0;
	live_current = ls;
	lp.ls = ls;
	cctx = live_ctx(TLS_client_method(), o, o->client_groups);
	sctx = live_ctx(TLS_server_method(), o, o->server_groups);
	if (!cctx || !sctx) {
		snprintf(err, errlen, "SSL_CTX setup");
		goto out;
	}
	SSL_CTX_set_keylog_callback(cctx, live_keylog_cb);
	SSL_CTX_set_alpn_select_cb(sctx, live_alpn_select, NULL);
	if (SSL_CTX_use_certificate(sctx, o->leaf->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, o->leaf->key) != 1 ||
	    (o->intermediate && SSL_CTX_add1_chain_cert(sctx, o->intermediate->cert) != 1)) {
		snprintf(err, errlen, "server certificate setup");
		goto out;
	}
	if (o->cert_request)
		SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER, NULL);

	lp.c = SSL_new(cctx);
	lp.s = SSL_new(sctx);
	lp.c_in = BIO_new(BIO_s_mem());
	lp.c_out = BIO_new(BIO_s_mem());
	lp.s_in = BIO_new(BIO_s_mem());
	lp.s_out = BIO_new(BIO_s_mem());
	if (!lp.c || !lp.s || !lp.c_in || !lp.c_out || !lp.s_in || !lp.s_out) {
		snprintf(err, errlen, "SSL setup");
		goto out;
	}
	SSL_set_bio(lp.c, lp.c_in, lp.c_out);
	SSL_set_bio(lp.s, lp.s_in, lp.s_out);
	SSL_set_msg_callback(lp.c, live_msg_cb);
	SSL_set_tlsext_host_name(lp.c, o->sni);
	SSL_set_alpn_protos(lp.c, alpn, sizeof(alpn) - 1);
	if (o->max_fragment)
		SSL_set_max_send_fragment(lp.s, o->max_fragment);
	SSL_set_connect_state(lp.c);
	SSL_set_accept_state(lp.s);

	for (spins = 0; spins < 50 && !(SSL_is_init_finished(lp.c) && SSL_is_init_finished(lp.s));
	     spins++) {
		SSL_do_handshake(lp.c);
		live_pump_both(&lp);
		SSL_do_handshake(lp.s);
		live_pump_both(&lp);
	}
	if (!SSL_is_init_finished(lp.c) || !SSL_is_init_finished(lp.s)) {
		snprintf(err, errlen, "handshake did not complete");
		goto out;
	}

	/* Z = ECDH(the client's last ephemeral key, the server's share). */
	if (SSL_get_peer_tmp_key(lp.c, &peer) != 1 || !ls->client_key) {
		snprintf(err, errlen, "no ephemeral keys");
		goto out;
	}
	dctx = EVP_PKEY_CTX_new(ls->client_key, NULL);
	ls->z_len = sizeof(ls->z);
	if (!dctx || EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer(dctx, peer) != 1 ||
	    EVP_PKEY_derive(dctx, ls->z, &ls->z_len) != 1) {
		snprintf(err, errlen, "ECDH");
		goto out;
	}

	/* An HTTP-like exchange, then optional KeyUpdates and a second round. */
	bytes_add(&ls->request, "GET / HTTP/1.1\r\nHost: server.test\r\n\r\n", 37);
	for (i = 0; i < o->response_len; i++) {
		uint8_t ch = (uint8_t)('a' + i % 26);

		bytes_add(&ls->response, &ch, 1);
	}
	buf = malloc(ls->request.len + ls->response.len + 64);
	if (!buf || live_write(&lp, lp.c, ls->request.p, ls->request.len) ||
	    live_read(&lp, lp.s, buf, ls->request.len)) {
		snprintf(err, errlen, "request");
		goto out;
	}
	if (o->key_update && SSL_key_update(lp.s, SSL_KEY_UPDATE_REQUESTED) != 1) {
		snprintf(err, errlen, "server KeyUpdate");
		goto out;
	}
	if (live_write(&lp, lp.s, ls->response.p, ls->response.len) ||
	    live_read(&lp, lp.c, buf, ls->response.len)) {
		snprintf(err, errlen, "response");
		goto out;
	}
	if (o->key_update) {
		/* The client answers update_requested with its own KeyUpdate,
		 * sent with its next record; and the server updates again. */
		if (live_write(&lp, lp.c, (const uint8_t *)"more", 4) ||
		    live_read(&lp, lp.s, buf, 4) ||
		    SSL_key_update(lp.s, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 ||
		    live_write(&lp, lp.s, (const uint8_t *)"done", 4) ||
		    live_read(&lp, lp.c, buf, 4)) {
			snprintf(err, errlen, "KeyUpdate round");
			goto out;
		}
		bytes_add(&ls->request, "more", 4);
		bytes_add(&ls->response, "done", 4);
	}
	SSL_shutdown(lp.c);
	live_pump_both(&lp);
	SSL_shutdown(lp.s);
	live_pump_both(&lp);
	ret = 0;
out:
	free(buf);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(peer);
	SSL_free(lp.c);
	SSL_free(lp.s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	return ret;
}

static void live_free(struct live_session *ls)
{
	bytes_free(&ls->stream[0]);
	bytes_free(&ls->stream[1]);
	bytes_free(&ls->request);
	bytes_free(&ls->response);
	EVP_PKEY_free(ls->client_key);
	memset(ls, 0, sizeof(*ls));
}

#endif
