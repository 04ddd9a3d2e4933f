/*
 * The permission walk for another user: the kernel's rules on synthetic inodes (modes and ACL
 * blobs), then real trees in a temporary directory with the planned fix applied by a shell and
 * checked again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mqttls/fsaccess.h"
#include "mqttls/util.h"

/* A user that need not exist: only ids matter to the walk. */
static gid_t groups_of_broker[] = { 5000, 6000 };
static struct fsaccess_user broker = { "broker", "brokergrp", 5000, 5000, groups_of_broker, 2 };
static gid_t groups_of_root[] = { 0 };
static struct fsaccess_user root = { "root", "root", 0, 0, groups_of_root, 1 };

static struct stat inode(mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_mode = mode;
	st.st_uid = uid;
	st.st_gid = gid;
	return st;
}

static void mode_bits(void **state)
{
	struct stat st;
	(void)state;

	st = inode(S_IFREG | 0600, 5000, 1);
	assert_true(fsaccess_permits(&broker, &st, NULL, 0, FSA_R));
	/* The owner class decides even when "others" would allow more. */
	st = inode(S_IFREG | 0044, 5000, 1);
	assert_false(fsaccess_permits(&broker, &st, NULL, 0, FSA_R));
	/* A supplementary group counts. */
	st = inode(S_IFREG | 0640, 0, 6000);
	assert_true(fsaccess_permits(&broker, &st, NULL, 0, FSA_R));
	st = inode(S_IFREG | 0604, 0, 6000);
	assert_false(fsaccess_permits(&broker, &st, NULL, 0, FSA_R));
	st = inode(S_IFREG | 0604, 0, 7000);
	assert_true(fsaccess_permits(&broker, &st, NULL, 0, FSA_R));
	st = inode(S_IFDIR | 0750, 0, 7000);
	assert_false(fsaccess_permits(&broker, &st, NULL, 0, FSA_X));
	st = inode(S_IFDIR | 0701, 0, 7000);
	assert_true(fsaccess_permits(&broker, &st, NULL, 0, FSA_X));
	assert_false(fsaccess_permits(&broker, &st, NULL, 0, FSA_R | FSA_X));
	/* Root reads anything and enters any directory. */
	st = inode(S_IFREG | 0000, 5000, 5000);
	assert_true(fsaccess_permits(&root, &st, NULL, 0, FSA_R));
	st = inode(S_IFDIR | 0000, 5000, 5000);
	assert_true(fsaccess_permits(&root, &st, NULL, 0, FSA_X));
}

/* An ACL xattr value: version 2, then (tag, perm, id) entries, little-endian. */
static size_t acl(unsigned char *out, const unsigned (*e)[3], size_t n)
{
	out[0] = 2;
	out[1] = out[2] = out[3] = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char *p = out + 4 + i * 8;
		p[0] = (unsigned char)e[i][0];
		p[1] = (unsigned char)(e[i][0] >> 8);
		p[2] = (unsigned char)e[i][1];
		p[3] = 0;
		p[4] = (unsigned char)e[i][2];
		p[5] = (unsigned char)(e[i][2] >> 8);
		p[6] = (unsigned char)(e[i][2] >> 16);
		p[7] = (unsigned char)(e[i][2] >> 24);
	}
	return 4 + n * 8;
}

static void posix_acls(void **state)
{
	unsigned char blob[128];
	struct stat st = inode(S_IFREG | 0640, 0, 0);
	size_t n;
	(void)state;

	/* setfacl -m u:broker:r on a root:root 0600 file: named user, mask r. */
	{
		const unsigned e[][3] = { { 0x01, 6, 0 }, { 0x02, 4, 5000 }, { 0x04, 0, 0 }, { 0x10, 4, 0 }, { 0x20, 0, 0 } };
		n = acl(blob, e, 5);
		assert_true(fsaccess_permits(&broker, &st, blob, n, FSA_R));
	}
	/* The mask limits a named user. */
	{
		const unsigned e[][3] = { { 0x01, 6, 0 }, { 0x02, 4, 5000 }, { 0x04, 0, 0 }, { 0x10, 0, 0 }, { 0x20, 0, 0 } };
		n = acl(blob, e, 5);
		assert_false(fsaccess_permits(&broker, &st, blob, n, FSA_R));
	}
	/* A named group the user is in (supplementary) grants; a matching group that does not
	 * grant denies even when others could read. */
	{
		const unsigned e[][3] = { { 0x01, 6, 0 }, { 0x04, 0, 0 }, { 0x08, 4, 6000 }, { 0x10, 7, 0 }, { 0x20, 0, 0 } };
		n = acl(blob, e, 5);
		assert_true(fsaccess_permits(&broker, &st, blob, n, FSA_R));
	}
	{
		const unsigned e[][3] = { { 0x01, 6, 0 }, { 0x04, 0, 0 }, { 0x08, 0, 6000 }, { 0x10, 7, 0 }, { 0x20, 4, 0 } };
		n = acl(blob, e, 5);
		assert_false(fsaccess_permits(&broker, &st, blob, n, FSA_R));
	}
	/* A damaged blob is ignored: the mode bits decide. */
	blob[0] = 9;
	st = inode(S_IFREG | 0644, 0, 0);
	assert_true(fsaccess_permits(&broker, &st, blob, n, FSA_R));
	assert_true(fsaccess_permits(&broker, &st, blob, 3, FSA_R));
}

/* ---- real trees ------------------------------------------------------------------------------ */

struct tree {
	char dir[64];
	struct fsaccess_user nobody;
	bool have_nobody;
};

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof *t);
	struct mq_err err = { 0 };

	if (!t)
		return -1;
	snprintf(t->dir, sizeof t->dir, "/tmp/mqttls-fsa-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	chmod(t->dir, 0755);
	t->have_nobody = fsaccess_user_lookup("nobody", &t->nobody, &err) == 0;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	struct mq_err err = { 0 };

	fsaccess_user_free(&t->nobody);
	if (mq_rm_rf(t->dir, &err) < 0)
		return -1;
	free(t);
	return 0;
}

static void mk(const char *path, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* Run the planned commands as root, the way a user pastes them. */
static void apply(const char *fix)
{
	char *cmd;
	assert_true(asprintf(&cmd, "set -e\n%s\n", fix) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void walk_and_plan(void **state)
{
	struct tree *t = *state;
	struct fsaccess_result r;
	char home[128], certs[160], key[200], cert[200], *plan = NULL;
	struct stat st;

	if (geteuid() != 0 || !t->have_nobody) {
		skip();
		return;
	}
	/* /tmp/X/home (0700 root) / certs (0755) / broker.key (0600 root) and broker.crt (0600). */
	snprintf(home, sizeof home, "%s/home", t->dir);
	snprintf(certs, sizeof certs, "%s/certs", home);
	snprintf(key, sizeof key, "%s/broker.key", certs);
	snprintf(cert, sizeof cert, "%s/broker.crt", certs);
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(mkdir(certs, 0755), 0);
	mk(key, 0600);
	mk(cert, 0600);

	assert_int_equal(fsaccess_check(&t->nobody, key, FSA_R, &r), FSA_DENIED);
	assert_string_equal(r.blocker, home);
	assert_true(r.blocker_is_dir);
	assert_int_equal(r.need, FSA_X);
	assert_non_null(strstr(r.why, "others may not enter it"));

	/* The plan: x on the directory, then the key to the user's group, closed to others. */
	assert_int_equal(fsaccess_plan(&t->nobody, key, FSA_R, true, &r, &plan), FSA_DENIED);
	assert_non_null(strstr(plan, "chmod o+x "));
	assert_non_null(strstr(plan, "chgrp "));
	assert_non_null(strstr(plan, "chmod g+r,o-rwx "));
	apply(plan);
	free(plan);
	assert_int_equal(fsaccess_check(&t->nobody, key, FSA_R, &r), FSA_OK);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, t->nobody.gid);

	/* A certificate is public: it may be opened to everyone. */
	assert_int_equal(fsaccess_plan(&t->nobody, cert, FSA_R, false, &r, &plan), FSA_DENIED);
	assert_string_equal(plan + strlen(plan) - strlen(cert), cert);
	assert_non_null(strstr(plan, "chmod a+r "));
	apply(plan);
	free(plan);
	assert_int_equal(fsaccess_check(&t->nobody, cert, FSA_R, &r), FSA_OK);

	/* Root passes, the file's owner passes. */
	chmod(home, 0700);
	assert_int_equal(fsaccess_check(&root, key, FSA_R, &r), FSA_OK);
}

static void links_missing_and_names(void **state)
{
	struct tree *t = *state;
	struct fsaccess_result r;
	char a[160], b[160], target[160], link[160], odd[200], *plan = NULL;

	snprintf(a, sizeof a, "%s/l1", t->dir);
	snprintf(b, sizeof b, "%s/l2", t->dir);
	assert_int_equal(symlink(b, a), 0);
	assert_int_equal(symlink(a, b), 0);
	assert_int_equal(fsaccess_check(&root, a, FSA_R, &r), FSA_LOOP);

	snprintf(target, sizeof target, "%s/real.crt", t->dir);
	snprintf(link, sizeof link, "%s/sub-link", t->dir);
	mk(target, 0644);
	assert_int_equal(symlink("real.crt", link), 0);
	assert_int_equal(fsaccess_check(&broker, link, FSA_R, &r), FSA_OK);
	assert_string_equal(r.resolved, target);

	snprintf(a, sizeof a, "%s/no/such/file", t->dir);
	assert_int_equal(fsaccess_check(&broker, a, FSA_R, &r), FSA_MISSING);
	snprintf(b, sizeof b, "%s/no", t->dir);
	assert_string_equal(r.blocker, b);

	snprintf(a, sizeof a, "%s/real.crt/x", t->dir);
	assert_int_equal(fsaccess_check(&broker, a, FSA_R, &r), FSA_NOT_DIR);

	/* A name with a quote and a space is quoted for sh in the plan. */
	if (geteuid() == 0 && t->have_nobody) {
		snprintf(odd, sizeof odd, "%s/it's a key", t->dir);
		mk(odd, 0600);
		assert_int_equal(fsaccess_plan(&t->nobody, odd, FSA_R, true, &r, &plan), FSA_DENIED);
		assert_non_null(strstr(plan, "'\\''s a key'"));
		apply(plan);
		free(plan);
		assert_int_equal(fsaccess_check(&t->nobody, odd, FSA_R, &r), FSA_OK);
	}
}

static void readable_by_others(void **state)
{
	struct stat st = inode(S_IFREG | 0644, 0, 0);
	char buf[200];
	(void)state;

	assert_non_null(fsaccess_readable_by_others(&broker, &st, buf, sizeof buf));
	assert_non_null(strstr(buf, "every user"));
	st = inode(S_IFREG | 0600, 0, 0);
	assert_null(fsaccess_readable_by_others(&broker, &st, buf, sizeof buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mode_bits),
		cmocka_unit_test(posix_acls),
		cmocka_unit_test(walk_and_plan),
		cmocka_unit_test(links_missing_and_names),
		cmocka_unit_test(readable_by_others),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
