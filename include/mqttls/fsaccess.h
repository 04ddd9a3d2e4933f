/*
 * fsaccess — can a given user open a path, and if not, which path component stops them and
 * what exactly would let them through.
 *
 * The check walks the path the way the kernel resolves it (every directory needs x, symbolic
 * links are followed, at most 40) and applies the kernel's rules to each component: owner, then
 * group (primary and supplementary, as getgrouplist gives them), then others; POSIX ACLs when a
 * file has them; root passes everything but x on a file without any x bit. It reads metadata
 * only, never the file. Nothing here prints.
 */
#ifndef MQTTLS_FSACCESS_H
#define MQTTLS_FSACCESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "attrib.h"
#include "err.h"

struct fsaccess_user {
	char *name;
	char *group;             /* the primary group's name ("mosquitto"), or its number */
	uid_t uid;
	gid_t gid;
	gid_t *groups;           /* every group the user is in, the primary one included */
	int n_groups;
};

/* Look a user up (getpwnam + getgrouplist). 0, or -1 with err set when there is no such user. */
int fsaccess_user_lookup(const char *name, struct fsaccess_user *u, struct mq_err *err) MQ_WUR MQ_NONNULL(1, 2);
void fsaccess_user_free(struct fsaccess_user *u);
bool fsaccess_user_in_group(const struct fsaccess_user *u, gid_t gid) MQ_NONNULL(1);

enum { FSA_X = 1, FSA_W = 2, FSA_R = 4 };

enum fsaccess_verdict {
	FSA_OK,
	FSA_DENIED,              /* blocker's permissions stop the user */
	FSA_MISSING,             /* blocker does not exist */
	FSA_NOT_DIR,             /* blocker should be a directory on the way but is not */
	FSA_LOOP,                /* more than 40 symbolic links */
	FSA_UNKNOWN,             /* mqttls itself cannot look at blocker (why says so) */
};

struct fsaccess_result {
	enum fsaccess_verdict verdict;
	char blocker[PATH_MAX];  /* the component concerned, symbolic links resolved */
	bool blocker_is_dir;     /* it stopped the walk as a directory on the way (needs x) */
	int need;                /* FSA_* bits the user lacks on blocker */
	struct stat st;          /* blocker's metadata (FSA_DENIED) */
	bool has_acl;
	char resolved[PATH_MAX]; /* the target with symbolic links resolved (when reached) */
	char why[512];           /* one sentence, e.g. "others have no x on /home/alice (drwx------ alice:alice)" */
};

/*
 * Can u get want (FSA_R, FSA_R|FSA_X for a directory to list...) on path? A relative path is
 * taken from the current directory. Returns r->verdict.
 */
enum fsaccess_verdict fsaccess_check(const struct fsaccess_user *u, const char *path, int want,
				     struct fsaccess_result *r) MQ_NONNULL(1, 2, 4);

/*
 * Like fsaccess_check, and when the verdict is FSA_DENIED also plan the fix: shell commands, one
 * per line, that let u through every blocker in turn (a directory gets x only; a secret file —
 * a key, a password or PSK file — is given to u's group and closed to others, never opened to
 * everyone). *fix is malloc'ed ("" when nothing can be planned); free() it.
 */
enum fsaccess_verdict fsaccess_plan(const struct fsaccess_user *u, const char *path, int want, bool secret,
				    struct fsaccess_result *r, char **fix) MQ_NONNULL(1, 2, 5, 6);

/*
 * The kernel's decision for one inode: acl is the raw system.posix_acl_access value (NULL, 0
 * when there is none). Exposed for the unit tests.
 */
bool fsaccess_permits(const struct fsaccess_user *u, const struct stat *st, const void *acl, size_t acl_len,
		      int want) MQ_NONNULL(1, 2);

/* "-rw-r----- root:mosquitto" */
char *fsaccess_describe(const struct stat *st, char *buf, size_t size) MQ_NONNULL(1, 2);

/*
 * Who besides u and root can read a file with st's owner, group and mode: "others" when the
 * other bits allow it, the group's name when the group has r and members other than u (listed in
 * /etc/group or having it as primary group), else NULL. buf holds the answer.
 */
const char *fsaccess_readable_by_others(const struct fsaccess_user *u, const struct stat *st, char *buf,
					size_t size) MQ_NONNULL(1, 2, 3);

#endif
