// SPDX-License-Identifier: BSD-2-Clause
/*
 * tpmreserve in one process: a window passes commands through, refuses
 * malformed commands and power-state commands, and ends by END, expiry
 * and the owner's death; windows queue.  Handles are in
 * tpmreserve_handles.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "window_helpers.h"

static ssize_t raw_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

TEST(begin_write_read_end)
{
	struct tpmreserve_end res;
	int fd = open(RESERVE, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, tpm_get_random(fd, 8));
	EXPECT_EQ(-ENOTCONN, window_end(fd, &res));
	ASSERT_EQ(0, window_begin(fd, 2000));
	EXPECT_EQ(-EALREADY, window_begin(fd, 2000));
	EXPECT_EQ(0, tpm_get_random(fd, 8));
	EXPECT_EQ(0, tpm_get_random(fd, 32));
	ASSERT_EQ(0, window_end(fd, &res));
	EXPECT_EQ(TPMRESERVE_END_BY_OWNER, res.how);
	EXPECT_EQ(2, res.commands);
	EXPECT_EQ(0, res.refused);
	EXPECT_EQ(-ENOTCONN, tpm_get_random(fd, 8));
	close(fd);
}

/* Test 7: each malformed class gets EINVAL and the window goes on. */
TEST(bad_input)
{
	uint8_t big[TPM_MAX_CMD + 16] = { 0x80, 0x01 };
	struct tpm_cmd c;
	struct tpmreserve_end res;
	int fd = open(RESERVE, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 5000));

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_GET_RANDOM);
	put16(&c, 8);
	cmd_finish(&c);
	EXPECT_EQ(-EINVAL, raw_write(fd, c.b, 6));		/* short */
	EXPECT_EQ(-EINVAL, raw_write(fd, c.b, c.n - 1));	/* size field too big */
	c.b[c.n] = 0;
	EXPECT_EQ(-EINVAL, raw_write(fd, c.b, c.n + 1));	/* size field too small */
	big[2] = (sizeof(big) >> 24) & 0xff;
	big[3] = (sizeof(big) >> 16) & 0xff;
	big[4] = (sizeof(big) >> 8) & 0xff;
	big[5] = sizeof(big) & 0xff;
	EXPECT_EQ(-EINVAL, raw_write(fd, big, sizeof(big)));	/* over the buffer */
	c.b[1] = 0x02;						/* claims sessions */
	EXPECT_EQ(-EINVAL, raw_write(fd, c.b, c.n));
	c.b[0] = 0x12;						/* bad tag */
	EXPECT_EQ(-EINVAL, raw_write(fd, c.b, c.n));

	/* Power state belongs to the kernel. */
	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_SHUTDOWN);
	put16(&c, 0);
	cmd_finish(&c);
	EXPECT_EQ(-EPERM, raw_write(fd, c.b, c.n));
	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_STARTUP);
	put16(&c, 0);
	cmd_finish(&c);
	EXPECT_EQ(-EPERM, raw_write(fd, c.b, c.n));
	cmd_start(&c, TPM_ST_NO_SESSIONS, 0x0fff);		/* no such command */
	cmd_finish(&c);
	EXPECT_EQ(-EOPNOTSUPP, raw_write(fd, c.b, c.n));

	EXPECT_EQ(0, tpm_get_random(fd, 8));
	ASSERT_EQ(0, window_end(fd, &res));
	EXPECT_EQ(TPMRESERVE_END_BY_OWNER, res.how);
	EXPECT_EQ(1, res.commands);
	EXPECT_EQ(9, res.refused);
	close(fd);
}

/* Test 5: the second owner waits for the first; O_NONBLOCK gets EBUSY. */
TEST(two_owners)
{
	int fd = open(RESERVE, O_RDWR), p[2], status;
	uint64_t waited_ms;
	pid_t pid;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, window_begin(fd, 5000));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd2 = open(RESERVE, O_RDWR | O_NONBLOCK), fd3 = open(RESERVE, O_RDWR);
		uint64_t t0;

		if (window_begin(fd2, 1000) != -EBUSY)
			_exit(2);
		t0 = now_ns();
		if (window_begin(fd3, 1000))
			_exit(3);
		waited_ms = (now_ns() - t0) / 1000000;
		if (tpm_get_random(fd3, 8) || window_end(fd3, NULL))
			_exit(4);
		if (write(p[1], &waited_ms, sizeof(waited_ms)) != sizeof(waited_ms))
			_exit(5);
		_exit(0);
	}
	usleep(400 * 1000);
	EXPECT_EQ(0, tpm_get_random(fd, 8));
	EXPECT_EQ(0, window_end(fd, NULL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(sizeof(waited_ms), read(p[0], &waited_ms, sizeof(waited_ms)));
	EXPECT_LE(300, waited_ms);
	close(fd);
}

/*
 * Test 3: a window past its timeout ends, the owner gets ETIME, END
 * reports the expiry, the waiting users proceed and no handle is left.
 */
TEST(expiry)
{
	struct tpmreserve_end res;
	struct audit_session s;
	struct load load;
	uint32_t key;
	uint64_t t_begin;
	int fd, base, i;

	base = handles_in_tpm();
	ASSERT_LE(0, base);
	ASSERT_EQ(0, load_start(&load, 2, 0));
	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	usleep(50 * 1000);

	/*
	 * 1 s: long enough for two commands on an emulated guest whose host
	 * is busy, so only the expiry can end it.
	 */
	ASSERT_EQ(0, window_begin(fd, 1000));
	t_begin = now_ns();
	ASSERT_EQ(0, tpm_start_audit_session(fd, &s));
	ASSERT_EQ(0, tpm_create_signing_primary(fd, TPM_RH_NULL, &key));
	usleep(1600 * 1000);
	EXPECT_EQ(-ETIME, tpm_get_random(fd, 8));
	EXPECT_EQ(-ETIME, window_end(fd, &res));
	EXPECT_EQ(TPMRESERVE_END_EXPIRED, res.how);
	EXPECT_EQ(2, res.flushed);
	EXPECT_LE(1000000, res.hold_us);
	EXPECT_GT(1600000, res.hold_us);
	EXPECT_EQ(-ENOTCONN, window_end(fd, &res));
	usleep(100 * 1000);

	ASSERT_EQ(0, load_stop_all(&load));
	for (i = 0; i < load.n; i++) {
		EXPECT_EQ(0, load.st[i].failed);
		EXPECT_LT(t_begin + 1000000000ull, load.st[i].last_ns);
	}
	EXPECT_EQ(base, handles_in_tpm());
	close(fd);
}

/*
 * A window ends at its deadline, not when the kernel's timer wheel gets
 * round to it: a 2100 ms sleep lands in a level of 256 ms granularity at
 * HZ=250 and could end up to that much late.  The owner polls for the
 * end; the window must have held the chip less than 2100 + 100 ms (the
 * margin is for an emulated guest on a busy host).
 */
TEST(expiry_on_time)
{
	struct pollfd p;
	struct tpmreserve_end res;
	int fd;

	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 2100));
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(1, poll(&p, 1, 5000));
	EXPECT_EQ(-ETIME, window_end(fd, &res));
	TH_LOG("the window ended %lld us after its deadline", (long long)res.hold_us - 2100000);
	EXPECT_LE(2100000, res.hold_us);
	EXPECT_GT(2200000, res.hold_us);
	close(fd);
}

/*
 * The owner's window, 10 s long, holds a key and a session; the owner is
 * a child that says so on @ready and waits.  With @forks it first forks a
 * grandchild that inherits the file and sleeps; its pid goes to @ready
 * too.  Returns the owner's pid.
 */
static pid_t start_owner(int ready, int forks)
{
	struct audit_session s;
	uint32_t key;
	pid_t pid, grandchild = 0;
	int fd;

	pid = fork();
	if (pid != 0)
		return pid;

	fd = open(RESERVE, O_RDWR);
	if (fd < 0 || window_begin(fd, 10000) || tpm_start_audit_session(fd, &s) ||
	    tpm_create_signing_primary(fd, TPM_RH_NULL, &key))
		_exit(1);
	if (forks) {
		grandchild = fork();
		if (grandchild == 0) {
			pause();
			_exit(0);
		}
	}
	if (write(ready, &grandchild, sizeof(grandchild)) != sizeof(grandchild))
		_exit(1);
	pause();
	_exit(0);
}

/*
 * Kill the owner and time how long until a new window shows the TPM as
 * it was (@base handles); returns the milliseconds, or -1.
 */
static int64_t kill_and_time_flush(pid_t owner, int base)
{
	uint64_t t0 = now_ns();
	int status;

	kill(owner, SIGKILL);
	if (waitpid(owner, &status, 0) != owner || !WIFSIGNALED(status))
		return -1;
	if (handles_in_tpm() != base)
		return -1;
	return (now_ns() - t0) / 1000000;
}

/*
 * Test 4: SIGKILL of the owner mid-window ends the window at once and
 * flushes its handles.  The window was granted 10 s: it must be over in
 * a fraction of that, and not by expiry.
 */
TEST(owner_killed)
{
	long long expired, ended;
	int base, p[2];
	int64_t ms;
	pid_t owner, none;

	base = handles_in_tpm();
	ASSERT_LE(0, base);
	expired = reserve_counter("windows_expired");
	ended = reserve_counter("windows_ended");
	ASSERT_EQ(0, pipe(p));
	owner = start_owner(p[1], 0);
	ASSERT_LT(0, owner);
	ASSERT_EQ(sizeof(none), read(p[0], &none, sizeof(none)));
	EXPECT_EQ(owner, reserve_counter("owner_pid"));

	ms = kill_and_time_flush(owner, base);
	EXPECT_LE(0, ms);
	EXPECT_GT(3000, ms) TH_LOG("the window ended %lld ms after the owner's death",
				   (long long)ms);
	EXPECT_EQ(expired, reserve_counter("windows_expired"));
	/* The killed owner's window and handles_in_tpm()'s. */
	EXPECT_EQ(ended + 2, reserve_counter("windows_ended"));
}

/*
 * The owner's death ends its window even though a child it forked still
 * holds the file; the child's copy does not keep the TPM reserved.
 */
TEST(owner_killed_child_keeps_file)
{
	long long expired;
	int base, p[2], status;
	pid_t owner, grandchild;
	int64_t ms;

	/* The grandchild outlives its parent; be the one who reaps it. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	base = handles_in_tpm();
	ASSERT_LE(0, base);
	expired = reserve_counter("windows_expired");
	ASSERT_EQ(0, pipe(p));
	owner = start_owner(p[1], 1);
	ASSERT_LT(0, owner);
	ASSERT_EQ(sizeof(grandchild), read(p[0], &grandchild, sizeof(grandchild)));
	ASSERT_LT(0, grandchild);

	ms = kill_and_time_flush(owner, base);
	EXPECT_LE(0, ms);
	EXPECT_GT(3000, ms) TH_LOG("the window ended %lld ms after the owner's death",
				   (long long)ms);
	EXPECT_EQ(expired, reserve_counter("windows_expired"));
	EXPECT_EQ(0, kill(grandchild, 0)) TH_LOG("the child holding the file is gone");

	kill(grandchild, SIGKILL);
	EXPECT_EQ(grandchild, waitpid(grandchild, &status, 0));
}

/*
 * BEGIN whose argument can be read but not written fails with EFAULT and
 * leaves no window holding the chip; so does an unreadable argument.
 */
TEST(begin_efault)
{
	struct tpmreserve_begin *ro;
	long long begun = reserve_counter("windows_begun");
	int fd, other;

	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro->timeout_ms = 5000;
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);

	EXPECT_EQ(-1, ioctl(fd, TPMRESERVE_IOC_BEGIN, ro));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, TPMRESERVE_IOC_BEGIN, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(begun, reserve_counter("windows_begun"));
	EXPECT_EQ(0, reserve_counter("owner_pid"));
	EXPECT_EQ(-ENOTCONN, tpm_get_random(fd, 8));

	/* Nothing holds the chip: a non-blocking BEGIN gets it. */
	other = open(RESERVE, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, other);
	EXPECT_EQ(0, window_begin(other, 1000));
	EXPECT_EQ(0, window_end(other, NULL));
	close(other);
	close(fd);
	munmap(ro, 4096);
}

TEST_HARNESS_MAIN
