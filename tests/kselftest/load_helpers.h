/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Background TPM load for the tpmreserve kselftests: processes that loop
 * TPM2_GetRandom on /dev/tpmrm0 and one that reads /dev/hwrng, each
 * reporting how many calls it completed, how many failed, when the last
 * one completed and the longest one took.  Header-only.
 */
#ifndef LOAD_HELPERS_H
#define LOAD_HELPERS_H

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include "tpm_helpers.h"

#define LOAD_MAX	8

struct load_stats {
	uint64_t done;
	uint64_t failed;
	uint64_t last_ns;	/* CLOCK_MONOTONIC of the last completion */
	uint64_t longest_ns;
	uint64_t unavailable;	/* hwrng has no TPM source (tpm_crb may disable it) */
};

struct load {
	pid_t pid[LOAD_MAX];
	int fd[LOAD_MAX];	/* read end of each child's report pipe */
	int n;
	struct load_stats st[LOAD_MAX];
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static volatile sig_atomic_t load_stop;

static inline void load_on_term(int sig)
{
	load_stop = 1;
}

/* One call of the load: a GetRandom on @fd, or a read of hwrng. */
static inline int load_call(int fd, int hwrng)
{
	uint8_t buf[32];

	if (hwrng)
		return read(fd, buf, sizeof(buf)) > 0 ? 0 : -1;
	return tpm_get_random(fd, 16) == 0 ? 0 : -1;
}

static inline void load_child(int out, int hwrng)
{
	struct load_stats st = { 0 };
	struct sigaction sa = { .sa_handler = load_on_term };
	uint64_t t0, t1;
	int fd;

	sigaction(SIGTERM, &sa, NULL);
	fd = open(hwrng ? "/dev/hwrng" : "/dev/tpmrm0", hwrng ? O_RDONLY : O_RDWR);
	if (fd < 0 && !hwrng)
		st.failed = 1;
	if (fd < 0 && hwrng)
		st.unavailable = 1;
	if (fd >= 0 && hwrng && load_call(fd, hwrng)) {
		st.unavailable = 1;
		close(fd);
		fd = -1;
	}
	while (fd >= 0 && !load_stop) {
		t0 = now_ns();
		if (load_call(fd, hwrng))
			st.failed++;
		t1 = now_ns();
		st.done++;
		st.last_ns = t1;
		if (t1 - t0 > st.longest_ns)
			st.longest_ns = t1 - t0;
	}
	if (write(out, &st, sizeof(st)) != sizeof(st))
		_exit(1);
	_exit(0);
}

/* Start @tpmrm GetRandom loops on /dev/tpmrm0 and, if @hwrng, a /dev/hwrng reader. */
static inline int load_start(struct load *l, int tpmrm, int hwrng)
{
	int i, p[2];

	memset(l, 0, sizeof(*l));
	for (i = 0; i < tpmrm + !!hwrng && i < LOAD_MAX; i++) {
		if (pipe(p))
			return -1;
		l->pid[i] = fork();
		if (l->pid[i] < 0)
			return -1;
		if (l->pid[i] == 0) {
			close(p[0]);
			load_child(p[1], i >= tpmrm);
		}
		close(p[1]);
		l->fd[i] = p[0];
		l->n++;
	}
	return 0;
}

/* Stop the load and collect each child's report; returns 0 if all reported. */
static inline int load_stop_all(struct load *l)
{
	int i, rc = 0, status;

	for (i = 0; i < l->n; i++)
		kill(l->pid[i], SIGTERM);
	for (i = 0; i < l->n; i++) {
		if (read(l->fd[i], &l->st[i], sizeof(l->st[i])) != sizeof(l->st[i]))
			rc = -1;
		close(l->fd[i]);
		waitpid(l->pid[i], &status, 0);
	}
	return rc;
}

#endif /* LOAD_HELPERS_H */
