// SPDX-License-Identifier: BSD-2-Clause
/*
 * The TLS 1.3 verifier against RFC 8448 section 3, "Simple 1-RTT Handshake":
 * from the trace's shared secret and records, the key schedule, the traffic
 * keys, the Finished values and the record decryption must reproduce the
 * trace's values, and the whole trace must verify.  Then mutations of the
 * trace must fail for the right reason.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tlswitness/tls13.h>
#include "../../user/lib/tls13.h"
#include "tls13_test.h"

static struct vectors vs;

static const struct vector *V(const char *name)
{
	const struct vector *v = vec(&vs, name, 0);

	if (!v) {
		printf("Bail out! vector %s missing\n", name);
		exit(1);
	}
	return v;
}

/* Hash of the concatenation of the named handshake messages. */
static void hash_messages(const struct tls13_kdf *kdf, const char *const *names, uint8_t *out)
{
	struct bytes b = {0};

	for (; *names; names++)
		bytes_add(&b, V(*names)->data, V(*names)->len);
	tls13_hash(kdf, b.p, b.len, out);
	bytes_free(&b);
}

static void test_key_schedule(void)
{
	static const char *const ch_sh[] = {"client_hello", "server_hello", NULL};
	static const char *const ch_cv[] = {
		"client_hello", "server_hello",	      "encrypted_extensions",
		"certificate",	"certificate_verify", NULL,
	};
	static const char *const ch_sf[] = {
		"client_hello", "server_hello",	      "encrypted_extensions",
		"certificate",	"certificate_verify", "server_finished",
		NULL,
	};
	static const char *const ch_cf[] = {
		"client_hello",	      "server_hello",	 "encrypted_extensions", "certificate",
		"certificate_verify", "server_finished", "client_finished",	 NULL,
	};
	const struct tls13_suite *suite = tls13_suite_find(TW_TLS_AES_128_GCM_SHA256);
	uint8_t early[32], derived[32], hs[32], ms[32], h[32], empty[32], x[32];
	uint8_t c_hs[32], s_hs[32], c_ap[32], s_ap[32];
	uint8_t key[16], iv[12];
	struct tls13_kdf kdf;

	if (!tap_ok(suite && !tls13_kdf_init(&kdf, suite), "HKDF for TLS_AES_128_GCM_SHA256"))
		return;

	tls13_hkdf_extract(&kdf, NULL, NULL, 0, early);
	tap_ok(same(V("early_secret"), early, 32), "early secret");
	tls13_hash(&kdf, NULL, 0, empty);
	tls13_derive_secret(&kdf, early, "derived", empty, derived);
	tap_ok(same(V("derived_for_handshake"), derived, 32), "derived secret for handshake");
	tls13_hkdf_extract(&kdf, derived, V("shared_secret")->data, 32, hs);
	tap_ok(same(V("handshake_secret"), hs, 32), "handshake secret from the shared secret");

	hash_messages(&kdf, ch_sh, h);
	tap_ok(same(V("hash_ch_sh"), h, 32), "transcript hash ClientHello..ServerHello");
	tls13_derive_secret(&kdf, hs, "c hs traffic", h, c_hs);
	tap_ok(same(V("c_hs_traffic"), c_hs, 32), "client handshake traffic secret");
	tls13_derive_secret(&kdf, hs, "s hs traffic", h, s_hs);
	tap_ok(same(V("s_hs_traffic"), s_hs, 32), "server handshake traffic secret");

	tls13_derive_secret(&kdf, hs, "derived", empty, derived);
	tap_ok(same(V("derived_for_master"), derived, 32), "derived secret for master");
	tls13_hkdf_extract(&kdf, derived, NULL, 0, ms);
	tap_ok(same(V("master_secret"), ms, 32), "master secret");

	hash_messages(&kdf, ch_sf, h);
	tap_ok(same(V("hash_ch_sf"), h, 32), "transcript hash ClientHello..server Finished");
	tls13_derive_secret(&kdf, ms, "c ap traffic", h, c_ap);
	tap_ok(same(V("c_ap_traffic"), c_ap, 32), "client application traffic secret 0");
	tls13_derive_secret(&kdf, ms, "s ap traffic", h, s_ap);
	tap_ok(same(V("s_ap_traffic"), s_ap, 32), "server application traffic secret 0");
	tls13_derive_secret(&kdf, ms, "exp master", h, x);
	tap_ok(same(V("exp_master"), x, 32), "exporter master secret");

	hash_messages(&kdf, ch_cf, h);
	tap_ok(same(V("hash_ch_cf"), h, 32), "transcript hash ClientHello..client Finished");
	tls13_derive_secret(&kdf, ms, "res master", h, x);
	tap_ok(same(V("res_master"), x, 32), "resumption master secret");

	tls13_expand_label(&kdf, s_hs, "key", NULL, 0, key, 16);
	tls13_expand_label(&kdf, s_hs, "iv", NULL, 0, iv, 12);
	tap_ok(same(V("s_hs_key"), key, 16) && same(V("s_hs_iv"), iv, 12),
	       "server handshake key and iv");
	tls13_expand_label(&kdf, c_hs, "key", NULL, 0, key, 16);
	tls13_expand_label(&kdf, c_hs, "iv", NULL, 0, iv, 12);
	tap_ok(same(V("c_hs_key"), key, 16) && same(V("c_hs_iv"), iv, 12),
	       "client handshake key and iv");
	tls13_expand_label(&kdf, s_ap, "key", NULL, 0, key, 16);
	tls13_expand_label(&kdf, s_ap, "iv", NULL, 0, iv, 12);
	tap_ok(same(V("s_ap_key"), key, 16) && same(V("s_ap_iv"), iv, 12),
	       "server application key and iv");
	tls13_expand_label(&kdf, c_ap, "key", NULL, 0, key, 16);
	tls13_expand_label(&kdf, c_ap, "iv", NULL, 0, iv, 12);
	tap_ok(same(V("c_ap_key"), key, 16) && same(V("c_ap_iv"), iv, 12),
	       "client application key and iv");

	tls13_expand_label(&kdf, s_hs, "finished", NULL, 0, x, 32);
	tap_ok(same(V("s_finished_key"), x, 32), "server finished_key");
	hash_messages(&kdf, ch_cv, h);
	tls13_finished_mac(&kdf, s_hs, h, x);
	tap_ok(same(V("s_verify_data"), x, 32), "server Finished verify_data");
	tls13_expand_label(&kdf, c_hs, "finished", NULL, 0, x, 32);
	tap_ok(same(V("c_finished_key"), x, 32), "client finished_key");
	hash_messages(&kdf, ch_sf, h);
	tls13_finished_mac(&kdf, c_hs, h, x);
	tap_ok(same(V("c_verify_data"), x, 32), "client Finished verify_data");
	tls13_kdf_free(&kdf);
}

/* Open @record with @secret's keys at sequence number 0; compare its inner plaintext. */
static int opens_to(const struct tls13_suite *suite, const struct tls13_kdf *kdf,
		    const uint8_t *secret, const struct vector *record, const struct vector *plain,
		    uint8_t type)
{
	struct tls13_aead a;
	uint8_t out[1 << 15];
	int ok;

	if (tls13_aead_init(&a, suite) || tls13_aead_set_secret(&a, kdf, secret))
		return 0;
	ok = !tls13_aead_open(&a, record->data, record->data + 5, record->len - 5, out) &&
	     record->len - 5 - 16 == plain->len + 1 && !memcmp(out, plain->data, plain->len) &&
	     out[plain->len] == type;
	tls13_aead_free(&a);
	return ok;
}

static void test_records(void)
{
	const struct tls13_suite *suite = tls13_suite_find(TW_TLS_AES_128_GCM_SHA256);
	struct tls13_kdf kdf;

	if (tls13_kdf_init(&kdf, suite))
		return;
	tap_ok(opens_to(suite, &kdf, V("s_hs_traffic")->data, vec(&vs, "s_record", 1),
			V("s_flight_plaintext"), 22),
	       "server's encrypted flight decrypts to EncryptedExtensions..Finished");
	tap_ok(opens_to(suite, &kdf, V("c_hs_traffic")->data, vec(&vs, "c_record", 1),
			V("client_finished"), 22),
	       "client's record decrypts to its Finished");
	tap_ok(opens_to(suite, &kdf, V("s_ap_traffic")->data, vec(&vs, "s_record", 2),
			V("new_session_ticket"), 22),
	       "server's first application record decrypts to the NewSessionTicket");
	tls13_kdf_free(&kdf);
}

/* Z = X25519(client private key, server share) must be the trace's shared secret. */
static void test_shared_secret(void)
{
	EVP_PKEY *priv, *peer;
	EVP_PKEY_CTX *ctx;
	uint8_t z[32];
	size_t zl = sizeof(z);
	int ok;

	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, V("client_private")->data, 32);
	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, V("server_share")->data, 32);
	ctx = EVP_PKEY_CTX_new(priv, NULL);
	ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	     EVP_PKEY_derive(ctx, z, &zl) == 1;
	tap_ok(ok && same(V("shared_secret"), z, zl), "X25519 of the trace's keys gives its Z");
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(peer);
}

struct trace {
	struct bytes stream[2];
	X509 *cert;
	X509_STORE *store;
};

static void trace_build(struct trace *t)
{
	const struct vector *v, *c = V("certificate");
	const uint8_t *der;
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; (v = vec(&vs, "c_record", i)); i++)
		bytes_add(&t->stream[TW_TLS_CLIENT], v->data, v->len);
	for (i = 0; (v = vec(&vs, "s_record", i)); i++)
		bytes_add(&t->stream[TW_TLS_SERVER], v->data, v->len);
	/* Certificate: header(4) context<1>(1) list<3>(3) cert_data<3>(3) */
	der = c->data + 11;
	t->cert = d2i_X509(NULL, &der, (long)(c->len - 11));
	t->store = X509_STORE_new();
	X509_STORE_add_cert(t->store, t->cert);
}

static void trace_free(struct trace *t)
{
	bytes_free(&t->stream[0]);
	bytes_free(&t->stream[1]);
	X509_free(t->cert);
	X509_STORE_free(t->store);
}

static void params_for(struct tw_tls_params *p, const struct trace *t)
{
	memset(p, 0, sizeof(*p));
	p->stream[TW_TLS_CLIENT] = t->stream[TW_TLS_CLIENT].p;
	p->stream_len[TW_TLS_CLIENT] = t->stream[TW_TLS_CLIENT].len;
	p->stream[TW_TLS_SERVER] = t->stream[TW_TLS_SERVER].p;
	p->stream_len[TW_TLS_SERVER] = t->stream[TW_TLS_SERVER].len;
	p->z = V("shared_secret")->data;
	p->z_len = 32;
	p->trust = t->store;
	p->verify_time = 1514764800; /* 2018-01-01, inside the certificate's validity */
	/* The trace's certificate names its host only in the subject CN ("rsa"),
	 * which the verifier never reads: no host check here. */
	p->flags = TW_TLS_SKIP_HOST;
}

static void test_whole_trace(void)
{
	struct tw_tls_session *s = NULL;
	struct tw_tls_params p;
	struct tw_status st = {0};
	struct trace t;
	const struct tw_tls_direction *c, *sv;
	enum tw_code rc;

	trace_build(&t);
	params_for(&p, &t);
	rc = tw_tls13_verify(&p, &s, &st);
	if (!tap_ok(rc == TW_OK && s, "the whole trace verifies (%s)", st.msg)) {
		trace_free(&t);
		return;
	}
	c = &s->dir[TW_TLS_CLIENT];
	sv = &s->dir[TW_TLS_SERVER];
	tap_ok(s->cipher_suite == TW_TLS_AES_128_GCM_SHA256 && s->group == TW_TLS_GROUP_X25519 &&
		       s->sig_scheme == 0x0804 && !s->hello_retry,
	       "suite, group, signature scheme, no HelloRetryRequest");
	tap_ok(same(V("client_share"), s->client_share, s->client_share_len) &&
		       same(V("server_share"), s->server_share, s->server_share_len),
	       "key shares");
	tap_ok(!strcmp(s->sni, "server") && s->alpn_len == 0, "SNI \"server\", no ALPN");
	tap_ok(s->ncerts == 1 && s->certs[0].len == 432, "one certificate in the chain");
	tap_ok(c->nrecords == 4 && sv->nrecords == 5, "4 client records, 5 server records");
	tap_ok(same(V("c_app_data"), c->app_data, c->app_len) &&
		       same(V("s_app_data"), sv->app_data, sv->app_len),
	       "application data of both directions");
	tap_ok(sv->records[1].type == TW_TLS_CT_HANDSHAKE && sv->records[1].msg_count == 4 &&
		       s->messages[sv->records[1].msg_first].type ==
			       TW_TLS_HS_ENCRYPTED_EXTENSIONS &&
		       sv->records[1].protection == TW_TLS_HANDSHAKE_KEYS,
	       "server record 1 holds EncryptedExtensions..Finished under handshake keys");
	tap_ok(sv->records[2].msg_count == 1 &&
		       s->messages[sv->records[2].msg_first].type == TW_TLS_HS_NEW_SESSION_TICKET &&
		       sv->records[2].protection == TW_TLS_APPLICATION_KEYS && s->tickets == 1,
	       "server record 2 is a NewSessionTicket under application keys");
	tap_ok(c->records[2].type == TW_TLS_CT_APPLICATION_DATA &&
		       c->records[2].content_len == 50 && c->records[2].seq == 0 &&
		       sv->records[3].seq == 1,
	       "application data records and their sequence numbers");
	tap_ok(c->close_notify && sv->close_notify && c->records[3].type == TW_TLS_CT_ALERT,
	       "both sides end with close_notify");
	tap_ok(sv->finished_end == 95 + 679 && c->finished_end == 201 + 58,
	       "Finished offsets in the streams");
	tap_ok(same(V("master_secret"), s->secrets.master_secret, 32) &&
		       same(V("res_master"), s->secrets.resumption_master, 32) &&
		       same(V("s_ap_traffic"), s->secrets.server_application_traffic_0, 32),
	       "secrets reported by the session");
	tw_tls13_session_free(s);
	trace_free(&t);
}

/* Verify a mutated trace; the failure message must contain @expect. */
static void expect_failure(const char *what, struct tw_tls_params *p, const char *expect)
{
	struct tw_tls_session *s = NULL;
	struct tw_status st = {0};
	enum tw_code rc;

	rc = tw_tls13_verify(p, &s, &st);
	tap_ok(rc == TW_E_VERIFY && !s && strstr(st.msg, expect), "%s: \"%s\"", what, st.msg);
	tw_tls13_session_free(s);
}

static void test_mutations(void)
{
	struct tw_tls_params p;
	struct trace t;
	uint8_t z[32];
	X509_STORE *empty;

	trace_build(&t);

	params_for(&p, &t);
	t.stream[TW_TLS_SERVER].p[95 + 100] ^= 0x01;
	expect_failure("bit flipped in the server's flight", &p,
		       "server record 1 AEAD tag invalid");
	t.stream[TW_TLS_SERVER].p[95 + 100] ^= 0x01;

	t.stream[TW_TLS_CLIENT].p[201 + 20] ^= 0x80;
	expect_failure("bit flipped in the client's Finished record", &p,
		       "client record 1 AEAD tag invalid");
	t.stream[TW_TLS_CLIENT].p[201 + 20] ^= 0x80;

	t.stream[TW_TLS_CLIENT].p[201 + 58 + 30] ^= 0x01;
	expect_failure("bit flipped in the client's application data", &p,
		       "client record 2 AEAD tag invalid");
	t.stream[TW_TLS_CLIENT].p[201 + 58 + 30] ^= 0x01;

	t.stream[TW_TLS_CLIENT].p[5 + 10] ^= 0x01;
	expect_failure("bit flipped in the ClientHello random", &p,
		       "server record 1 AEAD tag invalid");
	t.stream[TW_TLS_CLIENT].p[5 + 10] ^= 0x01;

	memcpy(z, V("shared_secret")->data, 32);
	z[0] ^= 1;
	p.z = z;
	expect_failure("wrong shared secret", &p, "server record 1 AEAD tag invalid");
	p.z = V("shared_secret")->data;

	p.stream_len[TW_TLS_SERVER]--;
	expect_failure("server stream cut by one byte", &p, "runs past the end of the stream");
	p.stream_len[TW_TLS_SERVER] -= 19;
	expect_failure("server stream cut inside a record header", &p, "trailing bytes");
	p.stream_len[TW_TLS_SERVER] += 20;

	p.stream_len[TW_TLS_CLIENT] = 201;
	expect_failure("client stream without its Finished", &p,
		       "client stream ends before its Finished");
	p.stream_len[TW_TLS_CLIENT] = t.stream[TW_TLS_CLIENT].len;

	empty = X509_STORE_new();
	p.trust = empty;
	expect_failure("certificate not in the trust store", &p,
		       "certificate chain does not verify");
	p.trust = t.store;
	X509_STORE_free(empty);

	p.verify_time = 1893456000; /* 2030-01-01 */
	expect_failure("verified after the certificate expired", &p, "certificate has expired");
	p.verify_time = 1514764800;

	p.flags = 0;
	p.host = "rsa";
	expect_failure("host named only in the subject CN", &p, "host name mismatch");
	p.flags = TW_TLS_SKIP_HOST;

	p.require_group = TW_TLS_GROUP_SECP256R1;
	expect_failure("P-256 required, trace uses X25519", &p, "not the required 0x0017");
	p.require_group = 0;

	trace_free(&t);
}

/* Encrypt @plain plus content type 22 over the fragment of @rec, at seq 0. */
static void seal(const char *key, const char *iv, uint8_t *rec, const uint8_t *plain, size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t inner[1024], type = 22;
	int n;

	memcpy(inner, plain, len);
	inner[len] = type;
	EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), V(key)->data, V(iv)->data, NULL);
	EVP_EncryptUpdate(ctx, NULL, &n, rec, 5);
	EVP_EncryptUpdate(ctx, rec + 5, &n, inner, (int)len + 1);
	EVP_EncryptFinal_ex(ctx, rec + 5 + n, &n);
	EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, rec + 5 + len + 1);
	EVP_CIPHER_CTX_free(ctx);
}

/*
 * Change the server's flight with @change, recompute its Finished over the
 * changed transcript and encrypt it again: only the check aimed at must fail.
 */
static void reseal_server_flight(struct trace *t, void (*change)(uint8_t *flight), int refinish)
{
	const struct tls13_suite *suite = tls13_suite_find(TW_TLS_AES_128_GCM_SHA256);
	const struct vector *f = V("s_flight_plaintext");
	uint8_t flight[657], h[32];
	struct tls13_kdf kdf;
	EVP_MD_CTX *md;
	/* EE 40, Certificate 445, CertificateVerify 136, Finished 36 */
	size_t fin = 40 + 445 + 136;

	memcpy(flight, f->data, f->len);
	change(flight);
	if (refinish && !tls13_kdf_init(&kdf, suite)) {
		md = EVP_MD_CTX_new();
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		EVP_DigestUpdate(md, V("client_hello")->data, V("client_hello")->len);
		EVP_DigestUpdate(md, V("server_hello")->data, V("server_hello")->len);
		EVP_DigestUpdate(md, flight, fin);
		EVP_DigestFinal_ex(md, h, NULL);
		tls13_finished_mac(&kdf, V("s_hs_traffic")->data, h, flight + fin + 4);
		EVP_MD_CTX_free(md);
		tls13_kdf_free(&kdf);
	}
	seal("s_hs_key", "s_hs_iv", t->stream[TW_TLS_SERVER].p + 95, flight, sizeof(flight));
}

static void flip_signature(uint8_t *flight)
{
	flight[40 + 445 + 8 + 10] ^= 0x01;
}

static void pkcs1_scheme(uint8_t *flight)
{
	flight[40 + 445 + 4] = 0x04;
	flight[40 + 445 + 5] = 0x01;
}

static void flip_finished(uint8_t *flight)
{
	flight[40 + 445 + 136 + 4 + 5] ^= 0x20;
}

static void unknown_extension(uint8_t *flight)
{
	/* EncryptedExtensions: 08 000024 0022 | 000a 0014 ...: supported_groups -> 0x0f0a */
	flight[6] = 0x0f;
}

static void test_resealed(void)
{
	uint8_t fin[36];
	struct tw_tls_params p;
	struct trace t;

	trace_build(&t);
	params_for(&p, &t);

	reseal_server_flight(&t, flip_signature, 1);
	expect_failure("signature bit flipped, Finished recomputed", &p,
		       "CertificateVerify signature invalid");
	reseal_server_flight(&t, pkcs1_scheme, 1);
	expect_failure("CertificateVerify with rsa_pkcs1_sha256", &p,
		       "which TLS 1.3 or the verifier does not allow");
	reseal_server_flight(&t, flip_finished, 0);
	expect_failure("server Finished changed", &p, "server Finished does not verify");
	reseal_server_flight(&t, unknown_extension, 1);
	expect_failure(
		"EncryptedExtensions with an extension nobody offered", &p,
		"EncryptedExtensions carries extension 3850, which the client did not offer");

	/* The original flight again; then a client Finished that is wrong. */
	memcpy(t.stream[TW_TLS_SERVER].p, vec(&vs, "s_record", 0)->data, 95);
	memcpy(t.stream[TW_TLS_SERVER].p + 95, vec(&vs, "s_record", 1)->data, 679);
	memcpy(fin, V("client_finished")->data, 36);
	fin[20] ^= 1;
	seal("c_hs_key", "c_hs_iv", t.stream[TW_TLS_CLIENT].p + 201, fin, sizeof(fin));
	expect_failure("client Finished changed", &p, "client Finished does not verify");
	trace_free(&t);
}

int main(int argc, char **argv)
{
	FILE *f = open_test_file(argv[0], "rfc8448-1rtt.vec");

	if (!f || vectors_load(f, &vs)) {
		printf("Bail out! cannot read tests/unit/rfc8448-1rtt.vec\n");
		return 1;
	}
	fclose(f);
	test_key_schedule();
	test_records();
	test_shared_secret();
	test_whole_trace();
	test_mutations();
	test_resealed();
	return tap_done();
}
