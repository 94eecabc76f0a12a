// SPDX-License-Identifier: BSD-2-Clause
/*
 * tpmreserve's handle discipline.  A window runs in the TPM's global
 * handle space: it may use the handles its own commands created (by
 * CreatePrimary, Load, CreateLoaded, ContextLoad, StartAuthSession,
 * HashSequenceStart), which the module flushes when the window ends
 * unless the window flushed or completed them itself, and no transient
 * object or session of another client, loaded or saved.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "window_helpers.h"

#define ATTR_AUDIT	(TPMA_SESSION_AUDIT | TPMA_SESSION_RESET | TPMA_SESSION_CONTINUE)

/*
 * Another client on /dev/tpm0, the raw device, so its handles are the
 * TPM's own: a key, a loaded session, a session saved with ContextSave,
 * and the saved contexts of that session and of the key.
 */
struct other_client {
	uint32_t key;
	uint32_t session;
	uint32_t saved;
	struct tpm_context saved_ctx;
	struct tpm_context key_ctx;
};

/*
 * The other client's life: make its handles, put them in @o, say so on
 * @ready, wait for a byte on @go, then flush them all.  Exits 0 only if
 * every flush succeeds, i.e. nothing of it was flushed or used up by
 * anyone else.
 */
static void other_client_run(struct other_client *o, int ready, int go)
{
	struct audit_session s1, s2;
	char c;
	int fd = open("/dev/tpm0", O_RDWR);

	if (fd < 0 || tpm_create_signing_primary(fd, TPM_RH_NULL, &o->key) ||
	    tpm_start_audit_session(fd, &s1) || tpm_start_audit_session(fd, &s2) ||
	    tpm_context_save(fd, s2.handle, &o->saved_ctx) ||
	    tpm_context_save(fd, o->key, &o->key_ctx))
		_exit(2);
	o->session = s1.handle;
	o->saved = s2.handle;
	if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		_exit(3);
	if (tpm_flush(fd, o->key) || tpm_flush(fd, o->session) || tpm_flush(fd, o->saved))
		_exit(4);
	_exit(0);
}

static pid_t other_client_start(struct other_client *o, int *go)
{
	int ready[2], gop[2];
	pid_t pid;
	char c;

	if (pipe(ready) || pipe(gop))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(gop[1]);
		other_client_run(o, ready[1], gop[0]);
	}
	close(ready[1]);
	close(gop[0]);
	*go = gop[1];
	if (pid > 0 && read(ready[0], &c, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

/* The other client flushes its handles and must succeed. */
static int other_client_finish(pid_t pid, int go)
{
	int status;

	if (write(go, "g", 1) != 1)
		return -1;
	close(go);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Use @handle as the session of an audited GetRandom: the authorization area. */
static int64_t use_as_session(int fd, uint32_t handle)
{
	struct audit_session s = { .handle = handle };

	return tpm_audited_get_random(fd, &s, ATTR_AUDIT);
}

/* Name @handle in the handle area: ContextSave. */
static int64_t use_in_handle_area(int fd, uint32_t handle)
{
	struct tpm_context ctx;

	return tpm_context_save(fd, handle, &ctx);
}

/*
 * Test 6: isolation.  A /dev/tpmrm0 client's session (its real handle, as
 * GetCapability lists it) and a /dev/tpm0 client's key, loaded session
 * and saved session are refused in the handle area, the authorization
 * area and FlushContext; the saved session's context cannot be loaded.
 * The key's saved context can: it loads as a new handle of the window,
 * which the module flushes.  The other clients' handles still work after.
 */
TEST(isolation)
{
	struct audit_session rm_session, own;
	struct other_client *o;
	struct tpmreserve_end res;
	uint32_t sessions[64], others[3], rm_key, loaded, own_key;
	int rm, fd, go, base, n, i;
	pid_t other;

	base = handles_in_tpm();
	ASSERT_LE(0, base);
	o = shared_map(sizeof(*o));
	ASSERT_NE(NULL, o);
	rm = open("/dev/tpmrm0", O_RDWR);
	ASSERT_LE(0, rm);
	ASSERT_EQ(0, tpm_start_audit_session(rm, &rm_session));
	ASSERT_EQ(0, tpm_create_signing_primary(rm, TPM_RH_NULL, &rm_key));
	other = other_client_start(o, &go);
	ASSERT_LT(0, other) TH_LOG("the /dev/tpm0 client could not make its handles");

	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 5000));

	/* Every session in the TPM belongs to another client. */
	n = tpm_list_handles(fd, TPM_HT_LOADED_SESSION, sessions, 32);
	ASSERT_LE(0, n);
	i = tpm_list_handles(fd, TPM_HT_SAVED_SESSION, sessions + n, 32);
	ASSERT_LE(0, i);
	n += i;
	ASSERT_LE(3, n) TH_LOG("the other clients' sessions are not in the TPM");
	for (i = 0; i < n; i++) {
		EXPECT_EQ(-EPERM, use_as_session(fd, sessions[i]));
		EXPECT_EQ(-EPERM, use_in_handle_area(fd, sessions[i]));
		EXPECT_EQ(-EPERM, tpm_flush(fd, sessions[i]));
	}

	/* The /dev/tpm0 client's key and sessions, by the handles it got. */
	others[0] = o->key;
	others[1] = o->session;
	others[2] = o->saved;
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-EPERM, use_as_session(fd, others[i]));
		EXPECT_EQ(-EPERM, use_in_handle_area(fd, others[i]));
		EXPECT_EQ(-EPERM, tpm_flush(fd, others[i]));
	}
	EXPECT_EQ(-EPERM, tpm_read_public(fd, o->key));
	EXPECT_EQ(-EPERM, tpm_context_load(fd, &o->saved_ctx, &loaded));

	/* A saved object context is a copy: it loads as the window's own. */
	ASSERT_EQ(0, tpm_context_load(fd, &o->key_ctx, &loaded));
	EXPECT_NE(o->key, loaded);
	EXPECT_EQ(0, tpm_read_public(fd, loaded));

	/* The window's own session and object pass. */
	ASSERT_EQ(0, tpm_start_audit_session(fd, &own));
	EXPECT_EQ(0, tpm_audited_get_random(fd, &own, ATTR_AUDIT));
	EXPECT_EQ(0, tpm_flush(fd, own.handle));
	ASSERT_EQ(0, tpm_create_signing_primary(fd, TPM_RH_NULL, &own_key));
	EXPECT_EQ(0, tpm_read_public(fd, own_key));
	EXPECT_EQ(0, tpm_flush(fd, own_key));
	ASSERT_EQ(0, window_end(fd, &res));
	EXPECT_EQ(1, res.flushed) TH_LOG("the loaded copy of the key is left");
	close(fd);

	/* The other clients' handles were not touched. */
	EXPECT_EQ(0, other_client_finish(other, go));
	EXPECT_EQ(0, tpm_audited_get_random(rm, &rm_session, ATTR_AUDIT));
	EXPECT_EQ(0, tpm_flush(rm, rm_key));
	EXPECT_EQ(0, tpm_flush(rm, rm_session.handle));
	close(rm);
	EXPECT_EQ(base, handles_in_tpm());
	munmap(o, sizeof(*o));
}

/*
 * Objects made by Load and CreateLoaded are the window's: it may use them,
 * and the module flushes them with the storage parent at the end.
 */
TEST(load_and_create_loaded)
{
	struct tpmreserve_end res;
	struct tpm_key_blobs blobs;
	uint32_t parent, loaded, created;
	int fd, base;

	base = handles_in_tpm();
	ASSERT_LE(0, base);
	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 5000));

	ASSERT_EQ(0, tpm_create_storage_primary(fd, TPM_RH_NULL, &parent));
	ASSERT_EQ(0, tpm_create_signing_key(fd, parent, &blobs));
	ASSERT_EQ(0, tpm_load(fd, parent, &blobs, &loaded));
	EXPECT_EQ(0, tpm_read_public(fd, loaded));
	ASSERT_EQ(0, tpm_create_loaded(fd, parent, &created));
	EXPECT_EQ(0, tpm_read_public(fd, created));

	ASSERT_EQ(0, window_end(fd, &res));
	EXPECT_EQ(6, res.commands);
	EXPECT_EQ(3, res.flushed);
	close(fd);
	EXPECT_EQ(base, handles_in_tpm());
}

/*
 * A completed hash or event sequence is gone from the TPM, so the module
 * forgets its handle: the window can no longer name it, and the end
 * flushes only the sequence left open.
 */
TEST(completed_sequences_forgotten)
{
	struct tpmreserve_end res;
	uint32_t hash, event, open_seq;
	int fd, base;

	base = handles_in_tpm();
	ASSERT_LE(0, base);
	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 5000));

	ASSERT_EQ(0, tpm_hash_sequence_start(fd, 0, &hash));
	EXPECT_EQ(0, tpm_sequence_complete(fd, hash));
	EXPECT_EQ(-EPERM, tpm_flush(fd, hash));

	ASSERT_EQ(0, tpm_hash_sequence_start(fd, 1, &event));
	EXPECT_EQ(0, tpm_event_sequence_complete(fd, event));
	EXPECT_EQ(-EPERM, tpm_flush(fd, event));

	ASSERT_EQ(0, tpm_hash_sequence_start(fd, 0, &open_seq));
	ASSERT_EQ(0, window_end(fd, &res));
	EXPECT_EQ(1, res.flushed);
	close(fd);
	EXPECT_EQ(base, handles_in_tpm());
}

TEST_HARNESS_MAIN
