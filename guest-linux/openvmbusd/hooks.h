/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hooks.h - the backup hooks: executables in /etc/openvmbus/backup.d/ that
 * openvmbusd runs with the argument `freeze` before freezing (ascending
 * name order) and `thaw` after thawing (descending), so that applications
 * can flush and hold their own state around the snapshot.
 *
 * They run as root when the host asks, so only files nobody but root can
 * change are run: the directory and each hook owned by root and not
 * writable by group or others, hooks regular files (not symbolic links,
 * whose target may sit in a directory others can write) with the owner's
 * execute bit, named with letters, digits, '_', '-' and '.' (no leading
 * dot, no packaging or editor leftovers such as .dpkg-old, .rpmnew, ~).
 * Anything else is skipped with a log line.
 *
 * A hook runs without a shell (fork, exec), in its own session, stdin
 * /dev/null, stdout and stderr captured (the last HOOK_OUTPUT_MAX bytes
 * kept), with a minimal environment, for at most HOOK_TIMEOUT_S seconds
 * (then its whole process group is killed). The hooks of one call run one
 * after the other from the daemon's event loop, which keeps serving the
 * other services meanwhile.
 */
#ifndef OPENVMBUSD_HOOKS_H
#define OPENVMBUSD_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#define HOOKS_DIR		"/etc/openvmbus/backup.d"
#define HOOK_TIMEOUT_S		30
#define HOOK_OUTPUT_MAX		2048

struct hook_list {
	char **names;
	size_t n;
};

/*
 * The hooks of dir in ascending order (a missing directory has none);
 * -EPERM when the directory itself may be changed by others than root.
 */
int hooks_scan(const char *dir, struct hook_list *ret);
/* Add name to the list (for hooks remembered across a restart), if still safe to run. */
int hooks_list_add(const char *dir, struct hook_list *l, const char *name);
void hooks_list_free(struct hook_list *l);

struct hook_result {
	const char *name;
	int exit_status;		/* when it exited, else -1 */
	int signal;			/* when killed, else 0 */
	bool timed_out;
	int error;			/* could not be started: negative errno */
	char output[HOOK_OUTPUT_MAX];	/* the end of its stdout and stderr */
	size_t output_len;
	bool output_cut;		/* more came before that */
};

struct hooks_run;
typedef void (*hooks_done_fn)(struct hooks_run *run, void *userdata);

struct hooks_run {
	sd_event *event;
	const char *dir;
	const struct hook_list *list;
	size_t count;			/* the first count hooks of list run */
	const char *arg;
	bool descending, stop_on_failure;
	char *env[8];
	uint64_t deadline;		/* the whole call's */
	hooks_done_fn done_fn;
	void *userdata;
	/* progress */
	bool running;
	size_t started;			/* hooks started so far */
	sd_event_source *defer, *child, *io, *timer;
	pid_t pid;
	int out_fd;
	uint64_t hook_start;
	struct hook_result cur;
	/* outcome */
	bool failed;
	struct hook_result failure;	/* the first hook that failed */
};

/*
 * Run hooks list[0..count) (from the last when descending) with arg, each
 * after the previous has ended, all within budget_s seconds; stop at the
 * first failure if stop_on_failure. env: extra NAME=VALUE strings, NULL
 * terminated. fn(run, userdata) is called from the event loop when done
 * (run->failed, run->failure, run->started tell how it went).
 */
int hooks_run_start(struct hooks_run *run, sd_event *event, const char *dir,
		    const struct hook_list *list, size_t count, const char *arg, bool descending,
		    bool stop_on_failure, unsigned int budget_s, const char *const *env,
		    hooks_done_fn fn, void *userdata);
/* Kill the running hook and stop; fn is not called. */
void hooks_run_cancel(struct hooks_run *run);

/* "exited with status 3", "killed by SIGKILL", "did not finish within 30 s", ... */
void hook_result_describe(const struct hook_result *res, char *buf, size_t size);

#endif
