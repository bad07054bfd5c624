// SPDX-License-Identifier: GPL-2.0-only
/* The sealed channel of service invocation (chan.c) over a socketpair:
 * messages round-trip in both directions; a flipped bit, a replayed frame,
 * a wrong key or an oversized frame are refused.
 * ctest-labels: unit sidecar
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bm_test.h"
#include "chan.h"
#include "ident_hs_io.h"

/* Two ends whose tx/rx keys match crosswise, as after a handshake. */
static void pair(struct chan *a, struct chan *b, int fds[2])
{
	struct ident_hs_result ra, rb;

	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	memset(ra.tx_key, 0x11, sizeof(ra.tx_key));
	memset(ra.rx_key, 0x22, sizeof(ra.rx_key));
	memcpy(rb.tx_key, ra.rx_key, sizeof(rb.tx_key));
	memcpy(rb.rx_key, ra.tx_key, sizeof(rb.rx_key));
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	chan_init(a, fds[0], &ra);
	chan_init(b, fds[1], &rb);
}

static void test_sidecar_chan_roundtrip(void)
{
	int64_t dl = hs_io_deadline(2000);
	struct chan a, b;
	char *got = NULL;
	size_t len = 0;
	int fds[2];

	pair(&a, &b, fds);
	CU_ASSERT_EQUAL(chan_send(&a, "hello", 5, dl), 0);
	CU_ASSERT_EQUAL(chan_send(&a, "", 0, dl), 0);
	CU_ASSERT_EQUAL(chan_recv(&b, &got, &len, 100, dl), 0);
	CU_ASSERT(len == 5 && got && !strcmp(got, "hello"));
	free(got);
	CU_ASSERT_EQUAL(chan_recv(&b, &got, &len, 100, dl), 0);
	CU_ASSERT(len == 0 && got && !*got);
	free(got);
	CU_ASSERT_EQUAL(chan_send(&b, "back", 4, dl), 0);
	CU_ASSERT_EQUAL(chan_recv(&a, &got, &len, 100, dl), 0);
	CU_ASSERT(len == 4 && got && !memcmp(got, "back", 4));
	free(got);
	/* Over the receiver's limit. */
	CU_ASSERT_EQUAL(chan_send(&a, "0123456789", 10, dl), 0);
	CU_ASSERT_EQUAL(chan_recv(&b, &got, &len, 9, dl), -E2BIG);
	CU_ASSERT_PTR_NULL(got);
	chan_clear(&a);
	chan_clear(&b);
	close(fds[0]);
	close(fds[1]);
}

/* Send one frame from a, let edit change its bytes, deliver it to b. */
static int deliver_edited(void (*edit)(unsigned char *, size_t, struct chan *))
{
	int64_t dl = hs_io_deadline(2000);
	unsigned char frame[256];
	struct chan a, b;
	char *got = NULL;
	size_t len = 0;
	int fds[2], err;
	ssize_t n;

	pair(&a, &b, fds);
	CU_ASSERT_EQUAL(chan_send(&a, "attack at dawn", 14, dl), 0);
	n = read(fds[1], frame, sizeof(frame));
	CU_ASSERT_EQUAL(n, 4 + 14 + 16);
	edit(frame, (size_t)n, &b);
	CU_ASSERT_EQUAL(write(fds[0], frame, (size_t)n), n);
	err = chan_recv(&b, &got, &len, 100, dl);
	CU_ASSERT_PTR_NULL(got);
	free(got);
	close(fds[0]);
	close(fds[1]);
	return err;
}

static void flip_bit(unsigned char *f, size_t n, struct chan *b)
{
	(void)b;
	f[n / 2] ^= 0x01;
}

static void replay(unsigned char *f, size_t n, struct chan *b)
{
	(void)f;
	(void)n;
	b->rx_seq = 1; /* as if this frame had been received once already */
}

static void wrong_key(unsigned char *f, size_t n, struct chan *b)
{
	(void)f;
	(void)n;
	b->rx_key[0] ^= 0x80;
}

static void huge_length(unsigned char *f, size_t n, struct chan *b)
{
	(void)n;
	(void)b;
	f[0] = 0x7f; /* claims ~2 GiB */
}

static void test_sidecar_chan_refuses(void)
{
	CU_ASSERT_EQUAL(deliver_edited(flip_bit), -EBADMSG);
	CU_ASSERT_EQUAL(deliver_edited(replay), -EBADMSG);
	CU_ASSERT_EQUAL(deliver_edited(wrong_key), -EBADMSG);
	CU_ASSERT_EQUAL(deliver_edited(huge_length), -E2BIG);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"roundtrip", test_sidecar_chan_roundtrip},
		{"refuses", test_sidecar_chan_refuses},
		{NULL, NULL},
	};

	return bm_test_add_suite("sidecar_chan", NULL, NULL, cases);
}
