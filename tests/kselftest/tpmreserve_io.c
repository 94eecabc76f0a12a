// SPDX-License-Identifier: BSD-2-Clause
/*
 * tpmreserve's file as an event source: non-blocking writes and reads,
 * what poll() reports at each step of a command and after the window
 * ends, and responses read in pieces.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include "kselftest_harness.h"
#include "window_helpers.h"

#define POLL_ALL	(POLLIN | POLLOUT | POLLERR | POLLHUP)

/* The poll() mask of @fd after waiting up to @ms for any of @events. */
static short poll_mask(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, ms) < 0)
		return -1;
	return p.revents;
}

static ssize_t raw_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t raw_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

/*
 * A command that keeps the TPM busy for a while: CreatePrimary of a P-256
 * storage key, which generates the key (milliseconds on swtpm, far longer
 * than the few microseconds between the write and the read below).
 */
static void slow_command(struct tpm_cmd *c)
{
	struct tpm_cmd pub;

	put_storage_template(&pub);
	cmd_start(c, TPM_ST_SESSIONS, TPM_CC_CREATE_PRIMARY);
	put32(c, TPM_RH_NULL);
	put32(c, 9);
	put_pw_session(c);
	put16(c, 4);
	put16(c, 0);
	put16(c, 0);
	put_tpm2b(c, pub.b, pub.n);
	put16(c, 0);
	put32(c, 0);
	cmd_finish(c);
}

/*
 * O_NONBLOCK: the write returns once the command is queued; a read before
 * the response is there fails with EAGAIN and poll() shows neither POLLIN
 * nor POLLOUT; then POLLIN; the response reads in three pieces; then
 * POLLOUT again.
 */
TEST(nonblocking_command)
{
	uint8_t rsp[TPM_MAX_CMD];
	struct tpmreserve_end res;
	struct tpm_cmd c;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(RESERVE, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(POLLERR, poll_mask(fd, POLL_ALL, 0)) TH_LOG("no window yet");
	EXPECT_EQ(-ENOTCONN, raw_read(fd, rsp, sizeof(rsp)));

	ASSERT_EQ(0, window_begin(fd, 5000));
	EXPECT_EQ(POLLOUT, poll_mask(fd, POLL_ALL, 0));
	EXPECT_EQ(0, raw_read(fd, rsp, sizeof(rsp))) TH_LOG("nothing to read is end of file");

	slow_command(&c);
	ASSERT_EQ((ssize_t)c.n, raw_write(fd, c.b, c.n));
	EXPECT_EQ(-EAGAIN, raw_read(fd, rsp, sizeof(rsp)));
	EXPECT_EQ(0, poll_mask(fd, POLL_ALL, 0));
	EXPECT_EQ(-EBUSY, raw_write(fd, c.b, c.n));

	EXPECT_EQ(POLLIN, poll_mask(fd, POLL_ALL, 3000));
	EXPECT_EQ(-EBUSY, raw_write(fd, c.b, c.n)) TH_LOG("the response is not read yet");

	/* In pieces: 4 bytes, 6 bytes, the rest. */
	EXPECT_EQ(4, raw_read(fd, rsp, 4));
	EXPECT_EQ(POLLIN, poll_mask(fd, POLL_ALL, 0));
	EXPECT_EQ(6, raw_read(fd, rsp + 4, 6));
	n = raw_read(fd, rsp + 10, sizeof(rsp) - 10);
	EXPECT_LT(0, n);
	if (n > 0)
		got = 10 + n;
	EXPECT_EQ(get32(rsp + 2), got) TH_LOG("responseSize and the bytes read differ");
	EXPECT_EQ(TPM_RC_SUCCESS, rsp_code(rsp));
	EXPECT_EQ(POLLOUT, poll_mask(fd, POLL_ALL, 0));
	EXPECT_EQ(0, raw_read(fd, rsp, sizeof(rsp)));

	ASSERT_EQ(0, window_end(fd, &res));
	EXPECT_EQ(1, res.commands);
	EXPECT_EQ(1, res.flushed);
	EXPECT_EQ(POLLERR, poll_mask(fd, POLL_ALL, 0));
	close(fd);
}

/*
 * A poll() that waits for a response that never comes wakes when the
 * window expires, with POLLERR and POLLHUP; then every call says ETIME.
 */
TEST(poll_wakes_at_expiry)
{
	uint8_t rsp[TPM_MAX_CMD];
	struct tpm_cmd c;
	uint64_t t0, ms;
	short mask;
	int fd;

	fd = open(RESERVE, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 300));
	t0 = now_ns();
	mask = poll_mask(fd, POLLIN, 3000);
	ms = (now_ns() - t0) / 1000000;
	EXPECT_EQ(POLLERR | POLLHUP, mask);
	EXPECT_LE(250, ms);
	EXPECT_GT(1500, ms) TH_LOG("poll() woke %llu ms after BEGIN", (unsigned long long)ms);

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_GET_RANDOM);
	put16(&c, 8);
	cmd_finish(&c);
	EXPECT_EQ(-ETIME, raw_write(fd, c.b, c.n));
	EXPECT_EQ(-ETIME, raw_read(fd, rsp, sizeof(rsp)));
	EXPECT_EQ(-ETIME, window_end(fd, NULL));
	close(fd);
}

/*
 * A command queued without O_NONBLOCK's wait, then the window expires
 * while its response is unread: the response can still be read, and
 * poll() reports it before the end.
 */
TEST(response_outlives_expiry)
{
	uint8_t rsp[TPM_MAX_CMD];
	struct tpm_cmd c;
	int fd;

	fd = open(RESERVE, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 200));
	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_GET_RANDOM);
	put16(&c, 8);
	cmd_finish(&c);
	ASSERT_EQ((ssize_t)c.n, raw_write(fd, c.b, c.n));
	usleep(500 * 1000);
	EXPECT_EQ(POLLIN, poll_mask(fd, POLL_ALL, 0));
	EXPECT_LE(TPM_HDR, raw_read(fd, rsp, sizeof(rsp)));
	EXPECT_EQ(POLLERR | POLLHUP, poll_mask(fd, POLL_ALL, 0));
	EXPECT_EQ(-ETIME, raw_read(fd, rsp, sizeof(rsp)));
	EXPECT_EQ(-ETIME, window_end(fd, NULL));
	close(fd);
}

TEST_HARNESS_MAIN
