// SPDX-License-Identifier: BSD-2-Clause
/*
 * The TLS 1.3 verifier against real sessions: OpenSSL's client and server
 * (tls13_live.h) run TLS 1.3 with each cipher suite, ECDSA, RSA, RSA-PSS and
 * Ed25519 certificates, a HelloRetryRequest, KeyUpdates, record padding,
 * handshake messages split over records, a certificate request, with and
 * without compatibility mode.  Each recording must verify, agree with what
 * libssl saw (keylog secrets, application data), and fail for the right
 * reason once mutated; a second ClientHello that changes more than a
 * HelloRetryRequest allows must be refused.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tlswitness/tls13.h>
#include "tls13_live.h"

static struct live_cert ca, other_ca, intermediate, leaf_p256, leaf_rsa, leaf_p384, leaf_ed25519,
	leaf_rsapss;
static X509_STORE *store, *other_store;

static void params_for(struct tw_tls_params *p, const struct live_session *ls)
{
	memset(p, 0, sizeof(*p));
	p->stream[TW_TLS_CLIENT] = ls->stream[0].p;
	p->stream_len[TW_TLS_CLIENT] = ls->stream[0].len;
	p->stream[TW_TLS_SERVER] = ls->stream[1].p;
	p->stream_len[TW_TLS_SERVER] = ls->stream[1].len;
	p->z = ls->z;
	p->z_len = ls->z_len;
	p->trust = store;
	p->host = "server.test";
	p->require_group = TW_TLS_GROUP_SECP256R1;
}

static int count_type(const struct tw_tls_direction *d, uint8_t type)
{
	size_t i;
	int n = 0;

	for (i = 0; i < d->nrecords; i++)
		n += d->records[i].type == type;
	return n;
}

static int max_padding(const struct tw_tls_direction *d)
{
	size_t i, m = 0;

	for (i = 0; i < d->nrecords; i++)
		if (d->records[i].padding_len > m)
			m = d->records[i].padding_len;
	return (int)m;
}

/* The first record of @dir whose protection is @prot, or -1. */
static long first_record(const struct tw_tls_session *s, enum tw_tls_dir dir,
			 enum tw_tls_protection prot)
{
	size_t i;

	for (i = 0; i < s->dir[dir].nrecords; i++)
		if (s->dir[dir].records[i].protection == prot)
			return (long)i;
	return -1;
}

/* A message of @type that spans more than one record, in @dir. */
static int split_message(const struct tw_tls_session *s, enum tw_tls_dir dir, unsigned int type)
{
	size_t i;

	for (i = 0; i < s->nmessages; i++)
		if (s->messages[i].dir == dir && s->messages[i].type == type &&
		    s->messages[i].last_record > s->messages[i].first_record)
			return 1;
	return 0;
}

struct expect {
	uint16_t suite;
	uint16_t scheme;
	int hrr;
	int key_updates;
	int min_padding;
	int split_certificate;
	int ccs;
	size_t ncerts;
};

static void run_case(const char *name, const struct live_opts *o, const struct expect *e)
{
	struct tw_tls_session *s = NULL;
	struct tw_status st = {0};
	struct tw_tls_params p;
	struct live_session ls;
	char err[128];
	size_t hl;

	if (!tap_ok(!live_run(o, &ls, err, sizeof(err)), "%s: OpenSSL session ran (%s)", name,
		    err)) {
		live_free(&ls);
		return;
	}
	params_for(&p, &ls);
	if (!tap_ok(tw_tls13_verify(&p, &s, &st) == TW_OK, "%s: verifies (%s)", name, st.msg)) {
		live_free(&ls);
		return;
	}
	hl = s->secrets.hash_len;
	tap_ok(s->cipher_suite == e->suite && s->sig_scheme == e->scheme &&
		       s->group == TW_TLS_GROUP_SECP256R1 && s->hello_retry == e->hrr &&
		       s->ncerts == e->ncerts,
	       "%s: suite 0x%04x, scheme 0x%04x, P-256, HRR %d, %zu certificates", name,
	       s->cipher_suite, s->sig_scheme, s->hello_retry, s->ncerts);
	tap_ok(ls.secret_len == hl && !memcmp(ls.c_hs, s->secrets.client_handshake_traffic, hl) &&
		       !memcmp(ls.s_hs, s->secrets.server_handshake_traffic, hl) &&
		       !memcmp(ls.c_ap, s->secrets.client_application_traffic_0, hl) &&
		       !memcmp(ls.s_ap, s->secrets.server_application_traffic_0, hl),
	       "%s: traffic secrets equal libssl's keylog", name);
	tap_ok(s->dir[TW_TLS_CLIENT].app_len == ls.request.len &&
		       !memcmp(s->dir[TW_TLS_CLIENT].app_data, ls.request.p, ls.request.len) &&
		       s->dir[TW_TLS_SERVER].app_len == ls.response.len &&
		       !memcmp(s->dir[TW_TLS_SERVER].app_data, ls.response.p, ls.response.len),
	       "%s: decrypted application data equals what was sent (%zu, %zu bytes)", name,
	       ls.request.len, ls.response.len);
	tap_ok(!strcmp(s->sni, "server.test") && s->alpn_len == 8 &&
		       !memcmp(s->alpn, "http/1.1", 8) && s->tickets == 2,
	       "%s: SNI, ALPN http/1.1, two session tickets", name);
	tap_ok((int)s->dir[0].key_updates == e->key_updates &&
		       (int)s->dir[1].key_updates == e->key_updates * 2,
	       "%s: KeyUpdates client %u, server %u", name, s->dir[0].key_updates,
	       s->dir[1].key_updates);
	tap_ok(max_padding(&s->dir[1]) >= e->min_padding &&
		       max_padding(&s->dir[0]) >= e->min_padding,
	       "%s: padding up to %d bytes stripped", name, max_padding(&s->dir[1]));
	tap_ok(split_message(s, TW_TLS_SERVER, TW_TLS_HS_CERTIFICATE) == e->split_certificate,
	       "%s: Certificate %s records", name, e->split_certificate ? "split over" : "within");
	tap_ok(count_type(&s->dir[0], TW_TLS_CT_CHANGE_CIPHER_SPEC) == e->ccs &&
		       count_type(&s->dir[1], TW_TLS_CT_CHANGE_CIPHER_SPEC) == e->ccs,
	       "%s: %d compatibility change_cipher_spec per direction", name, e->ccs);
	tap_ok(s->dir[0].close_notify && s->dir[1].close_notify, "%s: close_notify both ways",
	       name);
	tw_tls13_session_free(s);
	live_free(&ls);
}

static void expect_failure(const char *what, const struct tw_tls_params *p, const char *expect)
{
	struct tw_tls_session *s = NULL;
	struct tw_status st = {0};
	enum tw_code rc;

	rc = tw_tls13_verify(p, &s, &st);
	tap_ok(rc == TW_E_VERIFY && !s && strstr(st.msg, expect), "%s: \"%s\"", what, st.msg);
	tw_tls13_session_free(s);
}

static void mutations(void)
{
	struct live_opts o = {.leaf = &leaf_p256,
			      .sni = "server.test",
			      .response_len = 3000,
			      .suites = "TLS_AES_128_GCM_SHA256"};
	struct tw_tls_session *s = NULL;
	struct tw_status st = {0};
	struct tw_tls_params p;
	struct live_session ls;
	char err[128], expect[64];
	const struct tw_tls_record *r;
	uint8_t *sb, *cb, saved;
	long hs, ap;

	if (!tap_ok(!live_run(&o, &ls, err, sizeof(err)), "mutations: base session (%s)", err))
		return;
	params_for(&p, &ls);
	if (!tap_ok(tw_tls13_verify(&p, &s, &st) == TW_OK, "mutations: base verifies (%s)", st.msg))
		goto out;
	sb = ls.stream[1].p;
	cb = ls.stream[0].p;

	/* A bit flipped inside each protected server record is named by index. */
	hs = first_record(s, TW_TLS_SERVER, TW_TLS_HANDSHAKE_KEYS);
	ap = first_record(s, TW_TLS_SERVER, TW_TLS_APPLICATION_KEYS);
	r = &s->dir[1].records[hs];
	sb[r->offset + 10] ^= 4;
	snprintf(expect, sizeof(expect), "server record %ld AEAD tag invalid", hs);
	expect_failure("bit flipped in the server's first encrypted record", &p, expect);
	sb[r->offset + 10] ^= 4;
	r = &s->dir[1].records[s->dir[1].nrecords - 2];
	sb[r->offset + r->length - 1] ^= 0x80;
	snprintf(expect, sizeof(expect), "server record %zu AEAD tag invalid", r->index);
	expect_failure("bit flipped in the tag of the server's last data record", &p, expect);
	sb[r->offset + r->length - 1] ^= 0x80;
	/* A length of at least 0x4200 is over 2^14 + 256 whatever its low byte. */
	r = &s->dir[1].records[ap];
	saved = sb[r->offset + 3];
	sb[r->offset + 3] = 0x42;
	expect_failure("record length over the limit", &p, "exceeds 2^14+256");
	sb[r->offset + 3] = saved;

	/* The client's records too. */
	r = &s->dir[0].records[s->dir[0].nrecords - 2];
	cb[r->offset + 7] ^= 1;
	snprintf(expect, sizeof(expect), "client record %zu AEAD tag invalid", r->index);
	expect_failure("bit flipped in the client's request", &p, expect);
	cb[r->offset + 7] ^= 1;

	/* Identity checks. */
	p.host = "other.test";
	expect_failure("another host name", &p, "host name mismatch");
	p.host = "server.test";
	p.trust = other_store;
	expect_failure("another CA", &p, "certificate chain does not verify");
	p.trust = store;
	p.verify_time = time(NULL) + 365L * 24 * 3600;
	expect_failure("a year later", &p, "certificate has expired");
	p.verify_time = 0;

	/* Z and key shares. */
	ls.z[5] ^= 1;
	snprintf(expect, sizeof(expect), "server record %ld AEAD tag invalid", hs);
	expect_failure("wrong shared secret", &p, expect);
	ls.z[5] ^= 1;
	p.z_len = 31;
	expect_failure("shared secret of the wrong size", &p, "shared secret has 31 bytes");
	p.z_len = ls.z_len;
	{
		/* The client's P-256 point: 0x04 || X || Y; change Y. */
		uint8_t *share = memmem(cb, ls.stream[0].len, s->client_share, 65);

		if (tap_ok(share != NULL, "client share found in the ClientHello")) {
			share[64] ^= 1;
			expect_failure("ClientHello share off the curve", &p,
				       "ClientHello key share is not a valid P-256 point");
			share[64] ^= 1;
		}
	}

	/* Framing. */
	p.stream_len[TW_TLS_CLIENT] -= 1;
	expect_failure("client stream cut short", &p, "runs past the end");
	p.stream_len[TW_TLS_CLIENT] = s->dir[0].records[0].length;
	expect_failure("client stream with only its ClientHello", &p, "client stream ends before");
	p.stream_len[TW_TLS_CLIENT] = ls.stream[0].len;
	p.stream_len[TW_TLS_SERVER] = s->dir[1].finished_end - 1;
	expect_failure("server stream cut inside its Finished record", &p, "runs past the end");
	p.stream_len[TW_TLS_SERVER] = ls.stream[1].len;

	/* A record type the protocol does not have. */
	sb[s->dir[1].records[0].offset] = 0x18;
	expect_failure("unknown record type", &p, "unknown content type 24");
	sb[s->dir[1].records[0].offset] = 0x16;
out:
	tw_tls13_session_free(s);
	live_free(&ls);
}

/* The record of @s that carries the @nth message of @type in @dir, or NULL. */
static const struct tw_tls_record *message_record(const struct tw_tls_session *s,
						  enum tw_tls_dir dir, unsigned int type, int nth)
{
	size_t i;

	for (i = 0; i < s->nmessages; i++)
		if (s->messages[i].dir == dir && s->messages[i].type == type && nth-- == 0)
			return &s->dir[dir].records[s->messages[i].first_record];
	return NULL;
}

/*
 * RFC 8446 4.1.2: after a HelloRetryRequest the second ClientHello may
 * change only its key share, cookie, early_data, pre_shared_key and
 * padding.  One with another ALPN list must be refused by name, before
 * the transcript would catch it.
 */
static void hello_retry_mutations(void)
{
	struct live_opts o = {.leaf = &leaf_p256,
			      .client_groups = "X25519:P-256",
			      .server_groups = "P-256",
			      .sni = "server.test",
			      .response_len = 100,
			      .suites = "TLS_AES_128_GCM_SHA256"};
	struct tw_tls_session *s = NULL;
	struct tw_status st = {0};
	const struct tw_tls_record *r;
	struct tw_tls_params p;
	struct live_session ls;
	uint8_t *alpn;
	char err[128];

	if (!tap_ok(!live_run(&o, &ls, err, sizeof(err)), "HRR mutations: base session (%s)", err))
		return;
	params_for(&p, &ls);
	if (!tap_ok(tw_tls13_verify(&p, &s, &st) == TW_OK && s->hello_retry,
		    "HRR mutations: base verifies with a HelloRetryRequest (%s)", st.msg))
		goto out;
	r = message_record(s, TW_TLS_CLIENT, TW_TLS_HS_CLIENT_HELLO, 1);
	alpn = r ? memmem(ls.stream[0].p + r->offset, r->length, "http/1.1", 8) : NULL;
	if (tap_ok(alpn != NULL, "HRR mutations: the second ClientHello offers http/1.1")) {
		alpn[7] = '0';
		expect_failure("second ClientHello offers another ALPN list", &p,
			       "second ClientHello changes extension 16");
		alpn[7] = '1';
	}
out:
	tw_tls13_session_free(s);
	live_free(&ls);
}

static X509_STORE *store_of(const struct live_cert *root)
{
	X509_STORE *st = X509_STORE_new();

	if (st)
		X509_STORE_add_cert(st, root->cert);
	return st;
}

int main(void)
{
	struct live_opts o;
	struct expect e;

	if (!live_cert_make(&ca, "P-256", "tlswitness test CA", NULL, NULL) ||
	    !live_cert_make(&other_ca, "P-256", "tlswitness test CA", NULL, NULL) ||
	    !live_cert_make(&intermediate, "P-256", "tlswitness test intermediate", &ca, NULL) ||
	    !live_cert_make(&leaf_p256, "P-256", "server.test", &ca, "DNS:server.test") ||
	    !live_cert_make(&leaf_rsa, "RSA", "server.test", &intermediate, "DNS:server.test") ||
	    !live_cert_make(&leaf_p384, "P-384", "server.test", &ca, "DNS:server.test") ||
	    !live_cert_make(&leaf_ed25519, "ED25519", "server.test", &ca, "DNS:server.test") ||
	    !live_cert_make(&leaf_rsapss, "RSA-PSS", "server.test", &ca, "DNS:server.test")) {
		printf("Bail out! cannot make test certificates\n");
		return 1;
	}
	store = store_of(&ca);
	other_store = store_of(&other_ca);

	o = (struct live_opts){.suites = "TLS_AES_128_GCM_SHA256",
			       .leaf = &leaf_p256,
			       .sni = "server.test",
			       .response_len = 5000};
	e = (struct expect){.suite = 0x1301, .scheme = 0x0403, .ncerts = 1, .ccs = 1};
	run_case("AES-128-GCM, ECDSA P-256", &o, &e);

	o = (struct live_opts){.suites = "TLS_AES_256_GCM_SHA384",
			       .leaf = &leaf_rsa,
			       .intermediate = &intermediate,
			       .sni = "server.test",
			       .response_len = 40000};
	e = (struct expect){.suite = 0x1302, .scheme = 0x0804, .ncerts = 2, .ccs = 1};
	run_case("AES-256-GCM, RSA via an intermediate", &o, &e);

	o = (struct live_opts){.suites = "TLS_CHACHA20_POLY1305_SHA256",
			       .leaf = &leaf_p384,
			       .sni = "server.test",
			       .response_len = 20000,
			       .no_compat = 1};
	e = (struct expect){.suite = 0x1303, .scheme = 0x0503, .ncerts = 1, .ccs = 0};
	run_case("ChaCha20-Poly1305, ECDSA P-384, no compatibility mode", &o, &e);

	o = (struct live_opts){.suites = "TLS_AES_128_GCM_SHA256",
			       .leaf = &leaf_p256,
			       .client_groups = "X25519:P-256",
			       .server_groups = "P-256",
			       .sni = "server.test",
			       .response_len = 100};
	e = (struct expect){.suite = 0x1301, .scheme = 0x0403, .ncerts = 1, .hrr = 1, .ccs = 1};
	run_case("HelloRetryRequest from X25519 to P-256", &o, &e);

	o = (struct live_opts){.suites = "TLS_AES_256_GCM_SHA384",
			       .leaf = &leaf_rsa,
			       .intermediate = &intermediate,
			       .sni = "server.test",
			       .response_len = 70000,
			       .key_update = 1,
			       .padding = 256,
			       .max_fragment = 512};
	e = (struct expect){.suite = 0x1302,
			    .scheme = 0x0804,
			    .ncerts = 2,
			    .key_updates = 1,
			    .min_padding = 100,
			    .split_certificate = 1,
			    .ccs = 1};
	run_case("KeyUpdate both ways, padding, 512-byte fragments", &o, &e);

	o = (struct live_opts){.suites = "TLS_CHACHA20_POLY1305_SHA256",
			       .leaf = &leaf_ed25519,
			       .sni = "server.test",
			       .response_len = 10,
			       .cert_request = 1};
	e = (struct expect){.suite = 0x1303, .scheme = 0x0807, .ncerts = 1, .ccs = 1};
	run_case("Ed25519, certificate request answered without a certificate", &o, &e);

	o = (struct live_opts){.suites = "TLS_AES_128_GCM_SHA256",
			       .leaf = &leaf_rsapss,
			       .sni = "server.test",
			       .response_len = 10};
	e = (struct expect){.suite = 0x1301, .scheme = 0x0809, .ncerts = 1, .ccs = 1};
	run_case("RSA-PSS key (rsa_pss_pss_sha256)", &o, &e);

	mutations();
	hello_retry_mutations();

	X509_STORE_free(store);
	X509_STORE_free(other_store);
	live_cert_free(&ca);
	live_cert_free(&other_ca);
	live_cert_free(&intermediate);
	live_cert_free(&leaf_p256);
	live_cert_free(&leaf_rsa);
	live_cert_free(&leaf_p384);
	live_cert_free(&leaf_ed25519);
	live_cert_free(&leaf_rsapss);
	return tap_done();
}
