// SPDX-License-Identifier: BSD-2-Clause
/*
 * tpmreserve's queue: windows are granted in the order they asked, and a
 * window that was queued behind another does not go ahead of the TPM
 * users that were already waiting for the chip.  The second is what keeps
 * every user's wait at one window at most (Documentation/tpmreserve.rst,
 * "How long other users wait").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "window_helpers.h"

#define QUEUED_WINDOWS	4
#define WAITING_USERS	4

/* Fork a child that runs @fn(@arg), having said on a pipe that it is about to. */
static pid_t spawn_ready(void (*fn)(int), int arg)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

static int wait_all_ok(pid_t *pids, int n)
{
	int i, status, bad = 0;

	for (i = 0; i < n; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad++;
	}
	return bad;
}

struct fifo_record {
	int next;
	int order[QUEUED_WINDOWS];
};

static struct fifo_record *fifo;

/* A queued owner: begin, note the turn, one command, end. */
static void queued_owner(int me)
{
	int fd = open(RESERVE, O_RDWR), turn;

	if (fd < 0 || window_begin(fd, 2000))
		_exit(2);
	turn = __atomic_fetch_add(&fifo->next, 1, __ATOMIC_SEQ_CST);
	fifo->order[turn] = me;
	if (tpm_get_random(fd, 8) || window_end(fd, NULL))
		_exit(3);
	_exit(0);
}

/* Windows queued behind an open one are granted in the order they asked. */
TEST(windows_in_arrival_order)
{
	pid_t pids[QUEUED_WINDOWS];
	int fd, i, owner;

	fifo = shared_map(sizeof(*fifo));
	ASSERT_NE(NULL, fifo);
	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 5000));

	for (i = 0; i < QUEUED_WINDOWS; i++) {
		pids[i] = spawn_ready(queued_owner, i);
		ASSERT_LT(0, pids[i]);
		/* Asleep in BEGIN before the next one asks. */
		ASSERT_EQ(0, wait_asleep(pids[i], 'S', 3000));
	}
	EXPECT_EQ(0, window_end(fd, NULL));
	close(fd);

	EXPECT_EQ(0, wait_all_ok(pids, QUEUED_WINDOWS));
	ASSERT_EQ(QUEUED_WINDOWS, fifo->next);
	for (i = 0; i < QUEUED_WINDOWS; i++) {
		owner = fifo->order[i];
		EXPECT_EQ(i, owner) TH_LOG("turn %d went to owner %d", i, owner);
	}
	munmap(fifo, sizeof(*fifo));
}

struct overtake_record {
	uint64_t user_done_ns[WAITING_USERS];
	uint64_t second_begun_ns;
	uint64_t second_ended_ns;
};

static struct overtake_record *overtake;

/* A TPM user: one GetRandom on /dev/tpmrm0, timed. */
static void waiting_user(int me)
{
	int fd = open("/dev/tpmrm0", O_RDWR);

	if (fd < 0 || tpm_get_random(fd, 8))
		_exit(2);
	overtake->user_done_ns[me] = now_ns();
	_exit(0);
}

/* The second owner holds its window 500 ms, long enough to see who waited through it. */
static void second_owner(int unused)
{
	int fd = open(RESERVE, O_RDWR);

	if (fd < 0 || window_begin(fd, 5000))
		_exit(2);
	overtake->second_begun_ns = now_ns();
	usleep(500 * 1000);
	overtake->second_ended_ns = now_ns();
	if (tpm_get_random(fd, 8) || window_end(fd, NULL))
		_exit(3);
	_exit(0);
}

/*
 * Users wait for the chip during a window and a second window is queued
 * behind the first: when the first ends, every waiting user runs before
 * the second window takes the chip.
 */
TEST(window_behind_waiting_users)
{
	pid_t pids[WAITING_USERS + 1];
	uint64_t latest = 0;
	int fd, i;

	overtake = shared_map(sizeof(*overtake));
	ASSERT_NE(NULL, overtake);
	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 5000));

	for (i = 0; i < WAITING_USERS; i++) {
		pids[i] = spawn_ready(waiting_user, i);
		ASSERT_LT(0, pids[i]);
		/* tpm_try_get_ops() waits uninterruptibly. */
		ASSERT_EQ(0, wait_asleep(pids[i], 'D', 3000));
	}
	pids[WAITING_USERS] = spawn_ready(second_owner, 0);
	ASSERT_LT(0, pids[WAITING_USERS]);
	ASSERT_EQ(0, wait_asleep(pids[WAITING_USERS], 'S', 3000));
	EXPECT_EQ(0, window_end(fd, NULL));
	close(fd);

	EXPECT_EQ(0, wait_all_ok(pids, WAITING_USERS + 1));
	for (i = 0; i < WAITING_USERS; i++) {
		EXPECT_LT(overtake->user_done_ns[i], overtake->second_ended_ns)
			TH_LOG("user %d waited through the second window", i);
		if (overtake->user_done_ns[i] > latest)
			latest = overtake->user_done_ns[i];
	}
	TH_LOG("last waiting user done %lld us after the second window began",
	       ((long long)latest - (long long)overtake->second_begun_ns) / 1000);
	munmap(overtake, sizeof(*overtake));
}

TEST_HARNESS_MAIN
