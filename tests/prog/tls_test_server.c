// SPDX-License-Identifier: BSD-2-Clause
/*
 * tls_test_server --mode MODE --cert F --key F --port-file F [--body F] [--report F]
 *
 * A TLS 1.3 server on 127.0.0.1 (a free port, written to --port-file) for
 * the prover's tests, built on libssl.  It answers each HTTP/1.1 request
 * with the --body file, or echoes a POST body, then closes.  Modes:
 *
 *   plain   an ordinary TLS 1.3 server
 *   hrr     demands a cookie (SSL_stateless()): every client first gets a
 *           HelloRetryRequest (RFC 8446 section 4.1.4) and must send a
 *           second ClientHello
 *   early   sends application data (the response's status line) right
 *           after its Finished, before it reads the client's Finished or
 *           the request (0.5-RTT data, RFC 8446 section 4.6.2), and writes
 *           to --report how many bytes it had sent by then: all of them
 *           must be in the prover's commit
 *   hangup  reads the ClientHello and closes the connection
 *   trailing  after the response and its close_notify, writes a record
 *           no client can read (an application_data record with a tag
 *           that cannot verify): what the client never read must stay
 *           out of the proof
 *
 * Serves connections one after another until killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

/* The 0.5-RTT data: the start of the HTTP response, sent before the request. */
#define STATUS_LINE	"HTTP/1.1 200 OK\r\n"

static const char *mode = "plain";
static unsigned char cookie_secret[16];
static unsigned long bytes_sent;

static int die(const char *what)
{
	fprintf(stderr, "tls_test_server: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int make_cookie(SSL *ssl, unsigned char *cookie, size_t *len)
{
	memcpy(cookie, cookie_secret, sizeof(cookie_secret));
	*len = sizeof(cookie_secret);
	return 1;
}

static int check_cookie(SSL *ssl, const unsigned char *cookie, size_t len)
{
	return len == sizeof(cookie_secret) && !memcmp(cookie, cookie_secret, len);
}

/* Counts what the server writes to the socket. */
static long count_sent(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
		       int ret, size_t *processed)
{
	if (oper == (BIO_CB_WRITE | BIO_CB_RETURN) && ret > 0 && processed)
		bytes_sent += *processed;
	return ret;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		die("cannot read the body file");
	buf = malloc(n + 1);
	if (!buf || fread(buf, 1, n, f) != (size_t)n)
		die("cannot read the body file");
	fclose(f);
	*len = n;
	return buf;
}

/* Read the request head and any Content-Length body; answer; close. */
static void serve_http(SSL *ssl, const char *body, size_t body_len)
{
	char req[65536], head[256];
	size_t got = 0, want = 0, n;
	char *end = NULL, *cl;

	while (got < sizeof(req) - 1) {
		if (SSL_read_ex(ssl, req + got, sizeof(req) - 1 - got, &n) != 1)
			return;
		got += n;
		req[got] = 0;
		end = strstr(req, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(req, "\r\nContent-Length:");
		want = end + 4 - req + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		if (got >= want)
			break;
	}
	if (!end)
		return;
	if (!strncmp(req, "POST ", 5)) {
		body = end + 4;
		body_len = want - (end + 4 - req);
	}
	snprintf(head, sizeof(head),
		 "%sContent-Type: application/octet-stream\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 strcmp(mode, "early") ? STATUS_LINE : "", body_len);
	SSL_write_ex(ssl, head, strlen(head), &n);
	if (body_len)
		SSL_write_ex(ssl, body, body_len, &n);
	SSL_shutdown(ssl);
	if (!strcmp(mode, "trailing")) {
		static const unsigned char junk[5 + 32] = { 0x17, 0x03, 0x03, 0x00, 32 };

		if (write(SSL_get_fd(ssl), junk, sizeof(junk)) != sizeof(junk))
			perror("tls_test_server: write");
	}
}

/*
 * SSL_stateless() starts each ClientHello afresh, and libssl 3.0 then
 * rejects the ChangeCipherSpec a middlebox-compatible client sends before
 * its second ClientHello (RFC 8446 appendix D.4).  Such a server has to
 * drop that record itself; this one does, as it comes off the socket.
 */
static void skip_compat_ccs(int fd)
{
	static const unsigned char ccs[6] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01 };
	unsigned char buf[6];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_WAITALL);
	if (n == sizeof(buf) && !memcmp(buf, ccs, sizeof(ccs)))
		n = recv(fd, buf, sizeof(buf), MSG_WAITALL);
}

static int handshake(SSL *ssl, const char *report)
{
	unsigned char buf[64];
	size_t n;
	FILE *f;

	if (!strcmp(mode, "hrr")) {
		if (SSL_stateless(ssl) != 0)
			return -1;
		skip_compat_ccs(SSL_get_fd(ssl));
		if (SSL_stateless(ssl) != 1)
			return -1;
		return SSL_accept(ssl) == 1 ? 0 : -1;
	}
	if (!strcmp(mode, "early")) {
		/* No early data comes from this client; after FINISH the flight is out. */
		if (SSL_read_early_data(ssl, buf, sizeof(buf), &n) != SSL_READ_EARLY_DATA_FINISH)
			return -1;
		if (SSL_write_early_data(ssl, STATUS_LINE, strlen(STATUS_LINE), &n) != 1)
			return -1;
		if (report) {
			f = fopen(report, "w");
			if (f) {
				fprintf(f, "%lu\n", bytes_sent);
				fclose(f);
			}
		}
		return SSL_do_handshake(ssl) == 1 ? 0 : -1;
	}
	return SSL_accept(ssl) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *port_file = NULL, *body_file = NULL;
	const char *report = NULL;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	size_t body_len = 0;
	char *body = "";
	SSL_CTX *ctx;
	FILE *f;
	int lfd, one = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mode"))
			mode = argv[i + 1];
		else if (!strcmp(argv[i], "--cert"))
			cert = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			key = argv[i + 1];
		else if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--body"))
			body_file = argv[i + 1];
		else if (!strcmp(argv[i], "--report"))
			report = argv[i + 1];
		else
			die("unknown option");
	}
	if (!cert || !key || !port_file)
		die("usage: tls_test_server --mode MODE --cert F --key F --port-file F "
		    "[--body F] [--report F]");
	if (body_file)
		body = slurp(body_file, &body_len);
	RAND_bytes(cookie_secret, sizeof(cookie_secret));

	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		die("cannot set up the TLS context");
	SSL_CTX_set_stateless_cookie_generate_cb(ctx, make_cookie);
	SSL_CTX_set_stateless_cookie_verify_cb(ctx, check_cookie);
	SSL_CTX_set_num_tickets(ctx, 0);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 8) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen))
		die("cannot listen on loopback");
	f = fopen(port_file, "w");
	if (!f)
		die("cannot write the port file");
	fprintf(f, "%d\n", ntohs(addr.sin_port));
	fclose(f);

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		unsigned char hello[512];
		BIO *bio;
		SSL *ssl;

		if (fd < 0)
			continue;
		if (!strcmp(mode, "hangup")) {
			if (read(fd, hello, sizeof(hello)) < 0)
				perror("tls_test_server: read");
			close(fd);
			continue;
		}
		ssl = SSL_new(ctx);
		bio = BIO_new_socket(fd, BIO_CLOSE);
		if (!ssl || !bio)
			die("out of memory");
		bytes_sent = 0;
		BIO_set_callback_ex(bio, count_sent);
		SSL_set_bio(ssl, bio, bio);
		if (!strcmp(mode, "early"))
			SSL_set_max_early_data(ssl, 0);
		if (handshake(ssl, report) == 0)
			serve_http(ssl, body, body_len);
		else
			ERR_print_errors_fp(stderr);
		ERR_clear_error();
		SSL_free(ssl);
	}
}
