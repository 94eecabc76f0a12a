// SPDX-License-Identifier: BSD-2-Clause
/*
 * Connect to a TLS 1.3 server on loopback with OpenSSL's client, record every
 * byte both ways, send one HTTP request, read the answer to the end, then
 * verify the recording with tw_tls13_verify() and print TAP.  Z is computed
 * from libssl's ephemeral client key (SSL_get_tmp_key() as each ClientHello
 * is written) and the server's share.  Driven by tests/host/tls13-s_server.t.
 *
 *   tls13_connect PORT CAFILE HOST SUITE GROUPS LABEL
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <tlswitness/tls13.h>
#include "../unit/tls13_test.h"

static EVP_PKEY *client_key;

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	const uint8_t *b = buf;
	EVP_PKEY *k = NULL;

	(void)version;
	(void)arg;
	if (write_p && content_type == SSL3_RT_HANDSHAKE && len && b[0] == 1 &&
	    SSL_get_tmp_key(ssl, &k) == 1) {
		EVP_PKEY_free(client_key);
		client_key = k;
	}
}

struct conn {
	int fd;
	BIO *in, *out; /* what the SSL reads, what it writes */
	struct bytes sent, received;
	int eof;
};

/* Send what libssl wrote, recording it. */
static int flush(struct conn *c)
{
	uint8_t buf[16384];
	int n;

	while ((n = BIO_read(c->out, buf, sizeof(buf))) > 0) {
		bytes_add(&c->sent, buf, (size_t)n);
		if (send(c->fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			return -1;
	}
	return 0;
}

/* Receive some bytes for libssl, recording them. */
static int fill(struct conn *c)
{
	uint8_t buf[16384];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

	if (n <= 0) {
		c->eof = 1;
		return -1;
	}
	bytes_add(&c->received, buf, (size_t)n);
	BIO_write(c->in, buf, (int)n);
	return 0;
}

/* Run @op until it succeeds, moving bytes while libssl wants them. */
static int drive(struct conn *c, SSL *ssl, int (*op)(SSL *, void *), void *arg)
{
	int r;

	for (;;) {
		r = op(ssl, arg);
		if (flush(c))
			return -1;
		if (r > 0)
			return r;
		if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
			return r;
		if (fill(c))
			return 0;
	}
}

static int op_handshake(SSL *ssl, void *arg)
{
	(void)arg;
	return SSL_do_handshake(ssl);
}

static int op_write(SSL *ssl, void *arg)
{
	const char *s = arg;

	return SSL_write(ssl, s, (int)strlen(s));
}

static struct bytes response;

static int op_read(SSL *ssl, void *arg)
{
	uint8_t buf[16384];
	int n = SSL_read(ssl, buf, sizeof(buf));

	(void)arg;
	if (n > 0)
		bytes_add(&response, buf, (size_t)n);
	return n;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct tw_tls_session *s = NULL;
	struct tw_status st = {0};
	struct tw_tls_params p = {0};
	struct conn c = {0};
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *dctx;
	X509_STORE *store;
	SSL_CTX *ctx;
	SSL *ssl;
	uint8_t z[66];
	size_t z_len = sizeof(z);
	const char *label;
	int ok;

	if (argc != 7) {
		fprintf(stderr, "usage: tls13_connect PORT CAFILE HOST SUITE GROUPS LABEL\n");
		return 2;
	}
	label = argv[6];
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sa, sizeof(sa))) {
		tap_ok(0, "%s: connect to port %s", label, argv[1]);
		return tap_done();
	}

	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_ciphersuites(ctx, argv[4]);
	SSL_CTX_set1_groups_list(ctx, argv[5]);
	ssl = SSL_new(ctx);
	c.in = BIO_new(BIO_s_mem());
	c.out = BIO_new(BIO_s_mem());
	SSL_set_bio(ssl, c.in, c.out);
	SSL_set_msg_callback(ssl, msg_cb);
	SSL_set_tlsext_host_name(ssl, argv[3]);
	SSL_set_connect_state(ssl);

	ok = drive(&c, ssl, op_handshake, NULL) == 1 &&
	     drive(&c, ssl, op_write, "GET / HTTP/1.0\r\n\r\n") > 0;
	while (ok && !c.eof && drive(&c, ssl, op_read, NULL) > 0)
		;
	if (!tap_ok(ok && response.len > 0,
		    "%s: OpenSSL client talked to openssl s_server "
		    "(%zu bytes sent, %zu received)",
		    label, c.sent.len, c.received.len)) {
		ERR_print_errors_fp(stdout);
		return tap_done();
	}

	dctx = EVP_PKEY_CTX_new(client_key, NULL);
	ok = SSL_get_peer_tmp_key(ssl, &peer) == 1 && dctx && EVP_PKEY_derive_init(dctx) == 1 &&
	     EVP_PKEY_derive_set_peer(dctx, peer) == 1 && EVP_PKEY_derive(dctx, z, &z_len) == 1;
	tap_ok(ok, "%s: Z from the client's ephemeral key and the server's share", label);

	store = X509_STORE_new();
	X509_STORE_load_file(store, argv[2]);
	p.stream[TW_TLS_CLIENT] = c.sent.p;
	p.stream_len[TW_TLS_CLIENT] = c.sent.len;
	p.stream[TW_TLS_SERVER] = c.received.p;
	p.stream_len[TW_TLS_SERVER] = c.received.len;
	p.z = z;
	p.z_len = z_len;
	p.trust = store;
	p.host = argv[3];
	p.require_group = TW_TLS_GROUP_SECP256R1;
	if (tap_ok(tw_tls13_verify(&p, &s, &st) == TW_OK, "%s: the recording verifies (%s)", label,
		   st.msg)) {
		tap_ok(s->dir[TW_TLS_SERVER].app_len == response.len &&
			       !memcmp(s->dir[TW_TLS_SERVER].app_data, response.p, response.len) &&
			       response.len > 12 && !memcmp(response.p, "HTTP/1.0 200", 12),
		       "%s: decrypted response equals what the client read (%zu bytes)", label,
		       response.len);
		tap_ok(!strcmp(tw_tls_cipher_suite_name(s->cipher_suite), argv[4]),
		       "%s: cipher suite %s", label, tw_tls_cipher_suite_name(s->cipher_suite));
		tw_tls13_session_free(s);
	}
	p.host = "not-the-server.test";
	ok = tw_tls13_verify(&p, &s, &st) == TW_E_VERIFY && strstr(st.msg, "host name mismatch");
	tap_ok(ok, "%s: another host name fails (%s)", label, st.msg);

	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(client_key);
	X509_STORE_free(store);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(c.fd);
	bytes_free(&c.sent);
	bytes_free(&c.received);
	bytes_free(&response);
	return tap_done();
}
