// SPDX-License-Identifier: BSD-2-Clause
/*
 * What tpmreserve shows and what root may set: the counters under
 * /sys/class/misc/tpmreserve0/ follow each window as it happens, a BEGIN
 * asking more than max_window_ms gets max_window_ms and the window ends
 * there, and the device node is root's alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "window_helpers.h"

struct counters {
	long long begun, ended, expired, passed, refused, longest_us, total_us;
};

static void read_counters(struct counters *c)
{
	c->begun = reserve_counter("windows_begun");
	c->ended = reserve_counter("windows_ended");
	c->expired = reserve_counter("windows_expired");
	c->passed = reserve_counter("commands_passed");
	c->refused = reserve_counter("commands_refused");
	c->longest_us = reserve_counter("longest_hold_us");
	c->total_us = reserve_counter("total_hold_us");
}

/* A write the module refuses: TPM2_Startup. */
static ssize_t write_startup(int fd)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_STARTUP);
	put16(&c, 0);
	cmd_finish(&c);
	return write(fd, c.b, c.n) < 0 ? -errno : 0;
}

/*
 * Every counter moves when it should: begun and owner_pid at BEGIN,
 * commands passed and refused as they happen, ended, the hold times and
 * owner_pid at END, expired only for a window that expires.
 */
TEST(counters_follow_windows)
{
	struct counters before, during, after;
	struct tpmreserve_end res;
	int fd;

	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	read_counters(&before);
	ASSERT_LE(0, before.begun);
	EXPECT_EQ(0, reserve_counter("owner_pid"));

	ASSERT_EQ(0, window_begin(fd, 5000));
	EXPECT_EQ(getpid(), reserve_counter("owner_pid"));
	EXPECT_EQ(0, tpm_get_random(fd, 8));
	EXPECT_EQ(0, tpm_get_random(fd, 8));
	EXPECT_EQ(-EPERM, write_startup(fd));
	usleep(200 * 1000);
	read_counters(&during);
	EXPECT_EQ(before.begun + 1, during.begun);
	EXPECT_EQ(before.ended, during.ended);
	EXPECT_EQ(before.passed + 2, during.passed) TH_LOG("commands_passed is not live");
	EXPECT_EQ(before.refused + 1, during.refused);

	ASSERT_EQ(0, window_end(fd, &res));
	read_counters(&after);
	EXPECT_EQ(0, reserve_counter("owner_pid"));
	EXPECT_EQ(before.ended + 1, after.ended);
	EXPECT_EQ(before.expired, after.expired);
	EXPECT_EQ(during.passed, after.passed);
	EXPECT_LE(200000, res.hold_us);
	EXPECT_EQ(before.total_us + (long long)res.hold_us, after.total_us);
	EXPECT_LE((long long)res.hold_us, after.longest_us);
	EXPECT_LE(before.longest_us, after.longest_us);

	/* An expiring window counts as ended and as expired. */
	ASSERT_EQ(0, window_begin(fd, 100));
	usleep(300 * 1000);
	EXPECT_EQ(-ETIME, window_end(fd, &res));
	EXPECT_EQ(after.ended + 1, reserve_counter("windows_ended"));
	EXPECT_EQ(after.expired + 1, reserve_counter("windows_expired"));
	close(fd);
}

/* The cap as it was before the test, put back even when the test fails. */
FIXTURE(cap) {
	long long saved;
};

FIXTURE_SETUP(cap)
{
	self->saved = sysfs_number(MAX_WINDOW_MS);
	ASSERT_LT(0, self->saved);
}

FIXTURE_TEARDOWN(cap)
{
	char text[32];

	snprintf(text, sizeof(text), "%lld", self->saved);
	EXPECT_EQ(0, sysfs_write(MAX_WINDOW_MS, text));
	EXPECT_EQ(self->saved, sysfs_number(MAX_WINDOW_MS));
}

/*
 * max_window_ms caps every window: a BEGIN asking more is granted the
 * cap, says so in granted_ms, and expires there.  Root can change the cap
 * between 1 and 60000 and no further.
 */
TEST_F(cap, max_window_ms_caps_begin)
{
	struct tpmreserve_begin b = { .timeout_ms = 5000 };
	struct tpmreserve_end res;
	struct pollfd p;
	uint64_t t0;
	int fd;

	EXPECT_EQ(-EINVAL, sysfs_write(MAX_WINDOW_MS, "0"));
	EXPECT_EQ(-EINVAL, sysfs_write(MAX_WINDOW_MS, "60001"));
	EXPECT_EQ(self->saved, sysfs_number(MAX_WINDOW_MS));
	ASSERT_EQ(0, sysfs_write(MAX_WINDOW_MS, "300"));

	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, TPMRESERVE_IOC_BEGIN, &b));
	t0 = now_ns();
	EXPECT_EQ(300, b.granted_ms);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(1, poll(&p, 1, 3000));
	EXPECT_TRUE(p.revents & POLLHUP);
	EXPECT_EQ(-ETIME, window_end(fd, &res));
	EXPECT_EQ(TPMRESERVE_END_EXPIRED, res.how);
	EXPECT_LE(300000, res.hold_us);
	EXPECT_GT(1500000, res.hold_us);
	EXPECT_GT(1500, (now_ns() - t0) / 1000000);

	/* 0 asks for the cap itself. */
	b.timeout_ms = 0;
	ASSERT_EQ(0, ioctl(fd, TPMRESERVE_IOC_BEGIN, &b));
	EXPECT_EQ(300, b.granted_ms);
	EXPECT_EQ(0, window_end(fd, NULL));
	close(fd);
}

/* The device node is 0600 root: nobody else may open it. */
TEST(device_is_root_only)
{
	struct stat st;
	int status;
	pid_t pid;

	ASSERT_EQ(0, stat(RESERVE, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(open(RESERVE, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("user nobody could open the device");
}

TEST_HARNESS_MAIN
