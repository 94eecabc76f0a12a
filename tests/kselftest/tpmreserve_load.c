// SPDX-License-Identifier: BSD-2-Clause
/*
 * tpmreserve under load: an exclusive audit session survives a window
 * while other processes hammer every path to the TPM (/dev/tpmrm0,
 * /dev/tpm0, /dev/hwrng, a PCR read through sysfs, IMA's PCR extend),
 * does not survive without one, and 500 windows in a row leak nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include "kselftest_harness.h"
#include "window_helpers.h"

#define SOAK_WINDOWS	500

#define ATTR_RESET	(TPMA_SESSION_AUDIT | TPMA_SESSION_RESET | TPMA_SESSION_CONTINUE)
#define ATTR_EXCLUSIVE	(TPMA_SESSION_AUDIT | TPMA_SESSION_EXCLUSIVE | TPMA_SESSION_CONTINUE)

/*
 * The audited sequence on @fd: a signing key, an audit session, auditReset
 * on GetRandom, @n more GetRandom with auditExclusive (@gap_us apart),
 * and, if @sign, the signed session audit digest.  Returns the first
 * non-zero TPM rc or -errno; *exclusive gets the attest's byte.
 */
static int64_t audited_sequence(int fd, int n, int gap_us, int sign, int *exclusive)
{
	struct audit_session s = { 0 };
	uint32_t key = 0;
	int64_t rc;
	int i;

	*exclusive = -1;
	if (sign) {
		rc = tpm_create_signing_primary(fd, TPM_RH_NULL, &key);
		if (rc)
			return rc;
	}
	rc = tpm_start_audit_session(fd, &s);
	if (rc)
		goto out_flush_key;
	rc = tpm_audited_get_random(fd, &s, ATTR_RESET);
	for (i = 0; i < n && !rc; i++) {
		if (gap_us)
			usleep(gap_us);
		rc = tpm_audited_get_random(fd, &s, ATTR_EXCLUSIVE);
	}
	if (!rc && sign)
		rc = tpm_session_audit_digest(fd, &s, key, exclusive);
	tpm_flush(fd, s.handle);
out_flush_key:
	if (key)
		tpm_flush(fd, key);
	return rc;
}

/* /dev/hwrng joins a load only when the TPM is behind it. */
static unsigned int with_hwrng(void)
{
	char source[64];

	return hwrng_is_tpm(source, sizeof(source)) ? LOAD_WITH_HWRNG : 0;
}

/* IMA joins a load only when its measurements reach the TPM. */
static unsigned int with_ima(void)
{
	return ima_extends_pcr() ? LOAD_WITH_IMA : 0;
}

/* The load of tests 1 and 2: four /dev/tpmrm0 loops and every other path. */
static int full_load_start(struct load *load)
{
	return load_start(load, 4, LOAD_WITH_TPM0 | LOAD_WITH_PCR | with_hwrng() | with_ima());
}

/* Whether /dev/hwrng is part of the load; TAP says so when it is not. */
TEST(hwrng_reads_the_tpm)
{
	char source[64];

	if (!hwrng_is_tpm(source, sizeof(source)))
		SKIP(return, "no TPM behind /dev/hwrng (current source: %s); the load leaves it out",
		     source);
}

/*
 * Whether IMA is part of the load: it must measure a file owned by
 * IMA_UID when it is opened, and so extend PCR 10 in the kernel with
 * tpm_pcr_extend(), the path IMA takes for every measurement.
 */
TEST(ima_reaches_the_tpm)
{
	if (!ima_extends_pcr())
		SKIP(return, "IMA does not extend a PCR here; the load leaves it out");
}

/*
 * Test 1: exclusivity under load inside a window.  The audited commands
 * are 60 ms apart, so the window holds the chip for 300 ms or more; each
 * load process must have waited through most of it (its longest call),
 * failed nothing, and completed calls after it.
 */
TEST(exclusive_under_load)
{
	struct tpmreserve_end res;
	struct load load;
	uint64_t t_end;
	int fd, exclusive, i;

	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, full_load_start(&load));
	usleep(100 * 1000);

	ASSERT_EQ(0, window_begin(fd, 5000));
	EXPECT_EQ(0, audited_sequence(fd, 5, 60000, 1, &exclusive));
	EXPECT_EQ(1, exclusive) TH_LOG("the signed attest says the session was not exclusive");
	t_end = now_ns();
	ASSERT_EQ(0, window_end(fd, &res));
	EXPECT_EQ(TPMRESERVE_END_BY_OWNER, res.how);
	EXPECT_LE(300000, res.hold_us);
	close(fd);

	usleep(200 * 1000);
	ASSERT_EQ(0, load_stop_all(&load));
	for (i = 0; i < load.n; i++) {
		TH_LOG("%s: %llu calls, longest %llu ms", load_names[load.kind[i]],
		       (unsigned long long)load.st[i].done,
		       (unsigned long long)load.st[i].longest_ns / 1000000);
		EXPECT_EQ(0, load.st[i].failed);
		EXPECT_LT(t_end, load.st[i].last_ns) TH_LOG("load process %d stalled", i);
		EXPECT_LE(res.hold_us * 1000 / 2, load.st[i].longest_ns)
			TH_LOG("%s did not wait for the window", load_names[load.kind[i]]);
	}
}

/*
 * Test 2: the same sequence over /dev/tpmrm0 under the same load breaks:
 * the TPM refuses an auditExclusive command with TPM_RC_EXCLUSIVE at
 * least once in 20 tries.  A signed digest that says "not exclusive"
 * does not count; only the refusal proves that test 1 can fail.
 */
TEST(control_without_window)
{
	struct load load;
	int fd, exclusive, tries, refused = 0, signed_no = 0;
	int64_t rc;

	fd = open("/dev/tpmrm0", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, full_load_start(&load));
	usleep(100 * 1000);

	for (tries = 0; tries < 20 && !refused; tries++) {
		rc = audited_sequence(fd, 5, 2000, 1, &exclusive);
		if (rc == TPM_RC_EXCLUSIVE)
			refused = 1;
		else if (rc == 0 && exclusive == 0)
			signed_no++;
		else
			EXPECT_EQ(0, rc);
	}
	ASSERT_EQ(0, load_stop_all(&load));
	EXPECT_EQ(1, refused) TH_LOG("20 tries without TPM_RC_EXCLUSIVE, %d signed 'not exclusive'",
				     signed_no);
	TH_LOG("TPM_RC_EXCLUSIVE after %d tries", tries);
	close(fd);
}

FIXTURE(soak) {
	int unused;
};

FIXTURE_SETUP(soak)
{
}

FIXTURE_TEARDOWN(soak)
{
}

/* Test 8: 500 windows back to back under load: all exclusive, nothing leaks. */
TEST_F_TIMEOUT(soak, windows, 600)
{
	struct tpmreserve_end res;
	struct load load;
	int fd, base, exclusive, i, failed = 0;
	int64_t rc;

	base = handles_in_tpm();
	ASSERT_LE(0, base);
	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, load_start(&load, 4, with_hwrng()));

	for (i = 0; i < SOAK_WINDOWS; i++) {
		if (window_begin(fd, 5000)) {
			failed++;
			continue;
		}
		/* Every 50th window also has its digest signed. */
		rc = audited_sequence(fd, 2, 0, i % 50 == 0, &exclusive);
		if (rc || (i % 50 == 0 && exclusive != 1)) {
			TH_LOG("window %d: rc 0x%llx exclusive %d", i, (long long)rc, exclusive);
			failed++;
		}
		if (window_end(fd, &res) || res.flushed)
			failed++;
	}
	close(fd);
	ASSERT_EQ(0, load_stop_all(&load));
	EXPECT_EQ(0, failed);
	for (i = 0; i < load.n; i++)
		EXPECT_EQ(0, load.st[i].failed);
	EXPECT_EQ(base, handles_in_tpm());
	TH_LOG("load processes completed %llu calls",
	       (unsigned long long)(load.st[0].done + load.st[1].done));
}

TEST_HARNESS_MAIN
