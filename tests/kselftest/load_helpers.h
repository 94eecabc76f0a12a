/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Background TPM load for the tpmreserve kselftests: processes that loop
 * TPM2_GetRandom on /dev/tpmrm0 or /dev/tpm0, read /dev/hwrng, read a PCR
 * through sysfs (which the kernel answers with tpm_pcr_read()), or make
 * IMA extend PCR 10 (tpm_pcr_extend() in the kernel), each reporting how
 * many calls it completed, how many failed, when the last one completed
 * and the longest one took.  Header-only.
 */
#ifndef LOAD_HELPERS_H
#define LOAD_HELPERS_H

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include "tpm_helpers.h"

#define LOAD_MAX	8

/* The kinds of load; load_start() takes a count of the first and flags for the rest. */
enum load_kind {
	LOAD_TPMRM,		/* GetRandom on /dev/tpmrm0 */
	LOAD_TPM0,		/* GetRandom on /dev/tpm0, held open */
	LOAD_HWRNG,		/* read(/dev/hwrng) */
	LOAD_PCR,		/* read /sys/class/tpm/tpm0/pcr-sha256/0 */
	LOAD_IMA,		/* change and read a file IMA measures */
};

#define LOAD_WITH_TPM0	(1u << LOAD_TPM0)
#define LOAD_WITH_HWRNG	(1u << LOAD_HWRNG)
#define LOAD_WITH_PCR	(1u << LOAD_PCR)
#define LOAD_WITH_IMA	(1u << LOAD_IMA)

#define HWRNG_CURRENT	"/sys/class/misc/hw_random/rng_current"
#define PCR_SYSFS	"/sys/class/tpm/tpm0/pcr-sha256/0"
#define PCR_IMA_SYSFS	"/sys/class/tpm/tpm0/pcr-sha256/10"
#define SECURITYFS	"/sys/kernel/security"
#define IMA_DIR		SECURITYFS "/ima/"
#define IMA_UID		4242		/* IMA measures the files this uid owns */
#define IMA_UID_TEXT	"4242"
#define IMA_FILE	"/tmp/tpmreserve-ima-load"
#define IMA_PROBE	"/tmp/tpmreserve-ima-probe"

static const char *const load_names[] = {
	[LOAD_TPMRM] = "/dev/tpmrm0",
	[LOAD_TPM0] = "/dev/tpm0",
	[LOAD_HWRNG] = "/dev/hwrng",
	[LOAD_PCR] = PCR_SYSFS,
	[LOAD_IMA] = "IMA's PCR 10",
};

struct load_stats {
	uint64_t done;
	uint64_t failed;
	uint64_t last_ns;	/* CLOCK_MONOTONIC of the last completion */
	uint64_t longest_ns;
};

struct load {
	pid_t pid[LOAD_MAX];
	int fd[LOAD_MAX];	/* read end of each child's report pipe */
	enum load_kind kind[LOAD_MAX];
	int n;
	struct load_stats st[LOAD_MAX];
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Whether /dev/hwrng reads the TPM: the current source is the TPM's
 * ("tpm-rng-N"), not another one or none (tpm_crb leaves the TPM's out on
 * AMD firmware TPMs).  Puts the current source's name in @name.
 */
static inline int hwrng_is_tpm(char *name, size_t cap)
{
	FILE *f = fopen(HWRNG_CURRENT, "r");

	snprintf(name, cap, "unreadable");
	if (!f)
		return 0;
	if (!fgets(name, cap, f))
		snprintf(name, cap, "empty");
	fclose(f);
	name[strcspn(name, "\n")] = 0;
	return strncmp(name, "tpm-rng", 7) == 0;
}

/* The first line of a small file, newline cut; "" if unreadable. */
static inline void read_line(const char *path, char *line, size_t cap)
{
	FILE *f = fopen(path, "r");

	line[0] = 0;
	if (f && !fgets(line, cap, f))
		line[0] = 0;
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = 0;
}

/*
 * Give @path new contents owned by IMA_UID, then open and read it: when
 * IMA's policy measures IMA_UID's files, the open measures the new
 * contents and extends PCR 10 with tpm_pcr_extend(), in this process.
 */
static inline int ima_touch(const char *path)
{
	char text[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)now_ns());
	if (fchown(fd, IMA_UID, -1) || write(fd, text, n) != n) {
		close(fd);
		return -1;
	}
	close(fd);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text));
	close(fd);
	return n > 0 ? 0 : -1;
}

/*
 * Make IMA measure IMA_UID's files when they are opened for reading, and
 * tell whether that reaches the TPM: a probe file's measurement must
 * change PCR 10.  The policy file can be written once per boot (the
 * kernel has no CONFIG_IMA_WRITE_POLICY); a later call finds the rule in
 * place.  IMA without a TPM at boot, or a kernel without IMA, says no.
 */
static inline int ima_extends_pcr(void)
{
	static const char rule[] = "measure func=FILE_CHECK mask=MAY_READ fowner=" IMA_UID_TEXT "\n";
	char before[128], after[128];
	int fd;

	if (access(IMA_DIR, F_OK))
		mount("securityfs", SECURITYFS, "securityfs", 0, NULL);
	fd = open(IMA_DIR "policy", O_WRONLY);
	if (fd >= 0 && write(fd, rule, sizeof(rule) - 1) < 0)
		fprintf(stderr, "# IMA refused the rule: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	read_line(PCR_IMA_SYSFS, before, sizeof(before));
	if (ima_touch(IMA_PROBE))
		return 0;
	read_line(PCR_IMA_SYSFS, after, sizeof(after));
	unlink(IMA_PROBE);
	return before[0] && after[0] && strcmp(before, after) != 0;
}

static volatile sig_atomic_t load_stop;

static inline void load_on_term(int sig)
{
	load_stop = 1;
}

/* A PCR through sysfs: each read of a fresh open runs one TPM2_PCR_Read. */
static inline int load_read_pcr(void)
{
	char buf[160];
	int fd = open(PCR_SYSFS, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? 0 : -1;
}

/* One call of the load on @fd. */
static inline int load_call(enum load_kind kind, int fd)
{
	uint8_t buf[32];

	switch (kind) {
	case LOAD_HWRNG:
		return read(fd, buf, sizeof(buf)) > 0 ? 0 : -1;
	case LOAD_PCR:
		return load_read_pcr();
	case LOAD_IMA:
		return ima_touch(IMA_FILE);
	default:
		return tpm_get_random(fd, 16) == 0 ? 0 : -1;
	}
}

static inline int load_open(enum load_kind kind)
{
	switch (kind) {
	case LOAD_HWRNG:
		return open("/dev/hwrng", O_RDONLY);
	case LOAD_PCR:
	case LOAD_IMA:
		return open("/dev/null", O_RDONLY);	/* each call opens its file */
	default:
		return open(load_names[kind], O_RDWR);
	}
}

static inline void load_child(int out, enum load_kind kind)
{
	struct load_stats st = { 0 };
	struct sigaction sa = { .sa_handler = load_on_term };
	uint64_t t0, t1;
	int fd;

	sigaction(SIGTERM, &sa, NULL);
	fd = load_open(kind);
	if (fd < 0)
		st.failed = 1;
	while (fd >= 0 && !load_stop) {
		t0 = now_ns();
		if (load_call(kind, fd))
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

static inline int load_spawn(struct load *l, enum load_kind kind)
{
	pid_t parent = getpid();
	int p[2], i = l->n;

	if (i >= LOAD_MAX || pipe(p))
		return -1;
	l->pid[i] = fork();
	if (l->pid[i] < 0)
		return -1;
	if (l->pid[i] == 0) {
		/*
		 * A test that stops at a failed assertion never stops its
		 * load: die with it, and so drop every file inherited from
		 * it (a /dev/tpmreserve0 left open would pin the module).
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		close(p[0]);
		load_child(p[1], kind);
	}
	close(p[1]);
	l->fd[i] = p[0];
	l->kind[i] = kind;
	l->n++;
	return 0;
}

/*
 * Start @tpmrm GetRandom loops on /dev/tpmrm0 and one process of each kind
 * in @with (LOAD_WITH_*).
 */
static inline int load_start(struct load *l, int tpmrm, unsigned int with)
{
	enum load_kind kind;
	int i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < tpmrm; i++)
		if (load_spawn(l, LOAD_TPMRM))
			return -1;
	for (kind = LOAD_TPM0; kind <= LOAD_IMA; kind++)
		if ((with & (1u << kind)) && load_spawn(l, kind))
			return -1;
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
