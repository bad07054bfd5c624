// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the handshake message parser and both state machines.
 * The first input byte picks the role under test (even: server, odd:
 * client); the rest is the byte stream its peer would send. It is also fed
 * straight to the message parser as header + body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_fixture.h"
#include "ident_hs.h"
#include "ident_hs_msg.h"

#define FUZZ_MAX_INPUT 8192 /* stays inside one socket buffer: the write never blocks */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_fixture fx;
static struct ident_vcache cache;
static int is_ready;

static void parse_only(const uint8_t *data, size_t size)
{
	struct ident_hs_msg m;
	uint16_t len;
	uint8_t type;

	if (size < IDENT_HS_HDR_LEN || ident_hs_parse_header(data, &type, &len))
		return;
	if (size - IDENT_HS_HDR_LEN >= len)
		ident_hs_parse_body(type, data + IDENT_HS_HDR_LEN, len, &m);
}

static void run_role(int is_client, const uint8_t *data, size_t size)
{
	struct fuzz_party *me = is_client ? &fx.client : &fx.server;
	struct ident_hs_config cfg = {
		.trust = &fx.trust,
		.doc = me->doc,
		.doc_len = me->doc_len,
		.sk = me->sk,
		.timeout_ms = 1000,
		.now_s = FUZZ_NOW,
		.cache = &cache,
	};
	struct ident_hs_result res;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	if (size && write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR); /* the peer's stream ends here: reads see EOF */
	if (is_client)
		ident_hs_client(sv[1], &cfg, &res);
	else
		ident_hs_server(sv[1], &cfg, &res);
	ident_hs_result_clear(&res);
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!is_ready) {
		if (fuzz_fixture_init(&fx))
			abort();
		is_ready = 1;
	}
	if (!size || size > FUZZ_MAX_INPUT)
		return 0;
	parse_only(data + 1, size - 1);
	run_role(data[0] & 1, data + 1, size - 1);
	return 0;
}
