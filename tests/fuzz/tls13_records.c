// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the TLS 1.3 verifier's record and handshake parsers.
 *
 * Input, first byte < 0x80: a whole session for tw_tls13_verify():
 *   u8 z_len, z[z_len], u16 client_len, client stream, server stream.
 * First byte >= 0x80: one handshake message body for the parser of type
 *   (byte & 0x7f), e.g. 0x81 ClientHello, 0x82 ServerHello, 0x88
 *   EncryptedExtensions, 0x8b Certificate, 0x8d CertificateRequest, 0x84
 *   NewSessionTicket.
 * The chain and host checks are skipped (there is no trust store); every
 * other check runs.  Any outcome but a crash, a leak or undefined behaviour
 * is fine.
 */
#include <stddef.h>
#include <stdint.h>
#include <tlswitness/tls13.h>
#include "../../user/lib/tls13.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_tls_params p = {.flags = TW_TLS_SKIP_CHAIN | TW_TLS_SKIP_HOST};
	struct tw_tls_session *s = NULL;
	struct tw_status st;
	size_t z_len, client_len;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		tls13_fuzz_message(data[0] & 0x7f, data + 1, size - 1, &st);
		return 0;
	}
	if (size < 2)
		return 0;
	z_len = data[1];
	if (size < 2 + z_len + 2)
		return 0;
	p.z = data + 2;
	p.z_len = z_len;
	client_len = (size_t)data[2 + z_len] << 8 | data[3 + z_len];
	data += 4 + z_len;
	size -= 4 + z_len;
	if (client_len > size)
		return 0;
	p.stream[TW_TLS_CLIENT] = data;
	p.stream_len[TW_TLS_CLIENT] = client_len;
	p.stream[TW_TLS_SERVER] = data + client_len;
	p.stream_len[TW_TLS_SERVER] = size - client_len;
	if (tw_tls13_verify(&p, &s, &st) == TW_OK)
		tw_tls13_session_free(s);
	return 0;
}
