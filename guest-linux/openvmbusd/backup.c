// SPDX-License-Identifier: GPL-2.0
/*
 * backup.c - the backup (quiesce) service of openvmbusd (protocol:
 * docs/protocol/backup.md, docs/guest-backup.md): on FREEZE the pre-freeze
 * hooks run (hooks.h), then every writable local filesystem is frozen,
 * root last (fsfreeze.h), under a watchdog process that thaws them if
 * nobody else does in time (watchdog.h); on THAW they are thawed in
 * reverse order and the post-thaw hooks run. Every step answers the host
 * only once it is over.
 *
 * While filesystems are frozen nothing of the daemon may write to them:
 * log lines are held in memory (log.h), the KVP pool file is written after
 * the thaw (kvp.c), the heartbeat answers without asking D-Bus (whose
 * peers may be stuck on the journal). Anything that ends the freeze other
 * than a THAW (the deadline, the watchdog, the channel going away, the
 * host worker no longer answering) is reported with the next THAW as
 * WATCHDOG_THAWED.
 *
 * Hooks that got `freeze` are remembered in /run/openvmbusd until they got
 * `thaw`, so that a daemon killed in between gives them `thaw` when it is
 * started again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest-linux/openvmbusd/backup_text.h"
#include "guest-linux/openvmbusd/fsfreeze.h"
#include "guest-linux/openvmbusd/hooks.h"
#include "guest-linux/openvmbusd/log.h"
#include "guest-linux/openvmbusd/service.h"
#include "vmbus/ic_backup.h"

/*
 * All the hooks run for one request (a FREEZE's pre-freeze hooks and, if
 * it fails, their thaw; a THAW's post-thaw hooks): the host waits 90 s for
 * an answer, freezing needs some of it too. A failed freeze's thaw gets
 * what is left, at least BACKUP_UNDO_MIN_S.
 */
#define BACKUP_HOOKS_BUDGET_S	70
#define BACKUP_UNDO_MIN_S	5
/* The daemon's own deadline comes after the watchdog's, which is the one meant to act. */
#define BACKUP_DEADLINE_GRACE_US	500000
#define BACKUP_RUN_DIR		"/run/openvmbusd"
#define BACKUP_OWED_FILE	BACKUP_RUN_DIR "/backup-hooks"

enum backup_phase {
	BACKUP_IDLE,
	BACKUP_PRE_HOOKS,		/* FREEZE: pre-freeze hooks running */
	BACKUP_UNDO_HOOKS,		/* FREEZE failed: the hooks run so far get `thaw` */
	BACKUP_FROZEN,
	BACKUP_POST_HOOKS,		/* thawed: post-thaw hooks running */
};

struct backup_answer {
	int32_t status;
	uint32_t flags;
	uint32_t nfilesystems;
	struct backup_text text;
};

struct backup_guest {
	struct service *s;
	enum backup_phase phase;
	/* The request answered when the current step ends. */
	bool pending;
	struct vmbus_ic_hdr hdr;
	struct vmbus_ic_backup req;
	uint64_t started;		/* when it came (usec, monotonic) */
	struct backup_answer answer;
	/* The backup under way. */
	uint32_t timeout_ms;
	uint64_t backup_id;
	bool host_gone;			/* the channel closed during the pre-freeze hooks */
	bool thawed_unasked;		/* the thaw came before a THAW */
	uint64_t frozen_at;
	struct hook_list hooks;
	struct hooks_run run;
	struct fsfreeze fz;
	sd_event_source *deadline;
	pid_t watchdog_pid;
	sd_event_source *watchdog_src;
	char env_id[48];			/* OPENVMBUS_BACKUP_ID=, for the hooks */
	/* A thaw no THAW asked for, told with the next THAW. */
	bool unreported;
	struct backup_answer report;
	bool recovered;			/* the owed hooks of a previous run were looked at */
};

static struct backup_guest backup_guest = { .fz.watchdog.fd = -1 };

/* Now, in the event loop's clock (not its cached time: a freeze takes a while). */
static uint64_t backup_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void backup_send(struct backup_guest *g, const struct vmbus_ic_hdr *h,
			const struct vmbus_ic_backup *req, uint64_t since, struct backup_answer *a)
{
	uint8_t buf[sizeof(struct vmbus_ic_backup) + VMBUS_BACKUP_TEXT_MAX];
	struct vmbus_ic_backup p = {
		.op = req->op,
		.backup_id = req->backup_id,
		.flags = a->flags,
		.nfilesystems = a->nfilesystems,
	};
	uint64_t ms = since ? (backup_now() - since) / 1000 : 0;
	size_t len = backup_text_finish(&a->text);
	int r;

	p.elapsed_ms = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
	p.text_len = (uint32_t)len;
	memcpy(buf, &p, sizeof(p));
	memcpy(buf + sizeof(p), a->text.buf, len);
	r = service_reply(g->s, h, a->status, buf, (uint32_t)(sizeof(p) + len));
	if (r < 0)
		log_msg(LOG_WARNING, "backup: cannot answer the host: %s", strerror(-r));
}

static void backup_answer_init(struct backup_answer *a)
{
	a->status = 0;
	a->flags = 0;
	a->nfilesystems = 0;
	backup_text_init(&a->text);
}

/* Answer the pending request with g->answer. */
static void backup_answer_pending(struct backup_guest *g)
{
	if (!g->pending)
		return;
	g->pending = false;
	backup_send(g, &g->hdr, &g->req, g->started, &g->answer);
}

static void backup_take_request(struct backup_guest *g, const struct vmbus_ic_hdr *h,
				const struct vmbus_ic_backup *req)
{
	g->pending = true;
	g->hdr = *h;
	g->req = *req;
	g->started = backup_now();
}

static void backup_refuse(struct backup_guest *g, const struct vmbus_ic_hdr *h,
			  const struct vmbus_ic_backup *req, int status, const char *why)
{
	struct backup_answer a;

	backup_answer_init(&a);
	a.status = status;
	backup_text_add(&a.text, "%s\n", why);
	log_msg(LOG_WARNING, "backup: %s request refused: %s", req->op == VMBUS_BACKUP_FREEZE ? "freeze" :
		req->op == VMBUS_BACKUP_THAW ? "thaw" : "unknown", why);
	backup_send(g, h, req, 0, &a);
}

/* ------------------------------------------------------------ owed hooks */

/* Remember the hooks that are getting `freeze` (before any does). */
static void backup_owe_hooks(const struct backup_guest *g)
{
	FILE *f;
	size_t i;

	if (!g->hooks.n)
		return;
	if (mkdir(BACKUP_RUN_DIR, 0700) < 0 && errno != EEXIST)
		goto fail;
	f = fopen(BACKUP_OWED_FILE ".tmp", "we");
	if (!f)
		goto fail;
	for (i = 0; i < g->hooks.n; i++)
		fprintf(f, "%s\n", g->hooks.names[i]);
	if (fclose(f) != 0 || rename(BACKUP_OWED_FILE ".tmp", BACKUP_OWED_FILE) < 0)
		goto fail;
	return;
fail:
	log_msg(LOG_WARNING, "backup: cannot write %s (%m): should the daemon die now, the hooks "
		"will not get `thaw` when it starts again", BACKUP_OWED_FILE);
}

static void backup_forget_hooks(struct backup_guest *g)
{
	if (unlink(BACKUP_OWED_FILE) < 0 && errno != ENOENT)
		log_msg(LOG_WARNING, "backup: cannot remove %s: %m", BACKUP_OWED_FILE);
	hooks_list_free(&g->hooks);
}

/* --------------------------------------------------------------- thawing */

static void backup_post_hooks_done(struct hooks_run *run, void *userdata)
{
	struct backup_guest *g = userdata;
	char how[96];

	if (run->failed) {
		hook_result_describe(&run->failure, how, sizeof(how));
		g->answer.flags |= VMBUS_BACKUP_F_HOOK_FAILED;
		backup_text_add(&g->answer.text, "post-thaw hook %s %s\n", run->failure.name, how);
		backup_text_add_tail(&g->answer.text, run->failure.output, run->failure.output_len);
	}
	backup_forget_hooks(g);
	g->phase = BACKUP_IDLE;
	if (g->pending) {
		backup_answer_pending(g);
	} else if (g->thawed_unasked) {
		g->unreported = true;
		g->report = g->answer;
	}
	g->thawed_unasked = false;
}

static void backup_run_hooks(struct backup_guest *g, size_t count, const char *arg,
			     unsigned int budget_s, hooks_done_fn done)
{
	const char *env[] = { g->env_id, NULL };
	int r;

	r = hooks_run_start(&g->run, g->s->event, HOOKS_DIR, &g->hooks, count, arg,
			    strcmp(arg, "thaw") == 0, strcmp(arg, "freeze") == 0,
			    budget_s, env, done, g);
	if (r < 0) {
		log_msg(LOG_ERR, "backup: cannot run the hooks: %s", strerror(-r));
		g->run.failed = true;
		g->run.failure.name = "(all)";
		g->run.failure.error = r;
		done(&g->run, g);
	}
}

/*
 * Thaw everything (asked: by a THAW; else the deadline, the watchdog or
 * the channel), then run the post-thaw hooks; the answer or report follows.
 */
static void backup_thaw(struct backup_guest *g, bool asked, const char *why)
{
	size_t i, already = 0;
	int r;

	g->deadline = sd_event_source_disable_unref(g->deadline);
	service_watch_host(g->s, false);
	backup_answer_init(&g->answer);
	for (i = g->fz.n; i-- > 0;)
		if (g->fz.frozen[i]) {
			backup_text_add_path(&g->answer.text, g->fz.mount_points[i]);
			g->answer.nfilesystems++;
		}
	r = fsfreeze_thaw(&g->fz, &already);	/* releases the held log lines */
	kvp_pool_flush_held();
	if (r < 0)
		backup_text_add(&g->answer.text, "thawing failed: %s\n", strerror(-r));
	g->answer.status = r;
	if (!asked || already)
		g->answer.flags |= VMBUS_BACKUP_F_WATCHDOG_THAWED;
	if (!g->answer.nfilesystems)
		g->answer.flags |= VMBUS_BACKUP_F_NOTHING_FROZEN;
	g->thawed_unasked = !asked;
	log_msg(asked && !already ? LOG_NOTICE : LOG_WARNING,
		"backup: thawed %u filesystem(s) (%s)%s after %llu ms frozen", g->answer.nfilesystems, why,
		already ? ", some thawed already by the watchdog" : "",
		(unsigned long long)((backup_now() - g->frozen_at) / 1000));
	fsfreeze_release(&g->fz);
	g->phase = BACKUP_POST_HOOKS;
	backup_run_hooks(g, g->hooks.n, "thaw", BACKUP_HOOKS_BUDGET_S, backup_post_hooks_done);
}

static int backup_deadline_passed(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct backup_guest *g = userdata;

	(void)src, (void)usec;
	if (g->phase == BACKUP_FROZEN)
		backup_thaw(g, false, "no THAW in time");
	return 0;
}

static int backup_watchdog_exited(sd_event_source *src, const siginfo_t *si, void *userdata)
{
	struct backup_guest *g = userdata;
	int status = si->si_code == CLD_EXITED ? si->si_status : -1;

	(void)src;
	waitpid(si->si_pid, NULL, WNOHANG);	/* reaped here: the source goes now */
	g->watchdog_src = sd_event_source_unref(g->watchdog_src);
	if (si->si_pid != g->watchdog_pid)
		return 0;
	g->watchdog_pid = 0;
	if (status != WATCHDOG_EXIT_DONE)
		log_msg(LOG_WARNING, "backup: the watchdog ended: %s", status < 0 ? "killed" :
			watchdog_exit_reason(status));
	if (g->phase == BACKUP_FROZEN)
		backup_thaw(g, false, "the watchdog thawed");
	return 0;
}

/* Reap the watchdog of the freeze before (told it is done: it exits at once). */
static void backup_reap_watchdog(struct backup_guest *g)
{
	if (g->watchdog_pid > 0)
		waitpid(g->watchdog_pid, NULL, 0);
	g->watchdog_pid = 0;
	g->watchdog_src = sd_event_source_disable_unref(g->watchdog_src);
}

/* --------------------------------------------------------------- freezing */

static void backup_undo_done(struct hooks_run *run, void *userdata)
{
	struct backup_guest *g = userdata;

	(void)run;
	backup_forget_hooks(g);
	g->phase = BACKUP_IDLE;
	backup_answer_pending(g);
}

/* The freeze failed (g->answer says why): the hooks run so far get `thaw`, then the answer. */
static void backup_undo(struct backup_guest *g, size_t hooks_run)
{
	uint64_t spent_s = (backup_now() - g->started) / 1000000;
	unsigned int budget_s = BACKUP_UNDO_MIN_S;

	if (spent_s + BACKUP_UNDO_MIN_S < BACKUP_HOOKS_BUDGET_S)
		budget_s = BACKUP_HOOKS_BUDGET_S - (unsigned int)spent_s;
	log_msg(LOG_WARNING, "backup: freeze failed, nothing is frozen%s",
		hooks_run ? "; the hooks get thaw" : "");
	g->phase = BACKUP_UNDO_HOOKS;
	backup_run_hooks(g, hooks_run, "thaw", budget_s, backup_undo_done);
}

static void backup_freeze_now(struct backup_guest *g)
{
	size_t i, failed = 0;
	int r;

	backup_reap_watchdog(g);
	r = fsfreeze_prepare(&g->fz);
	if (r < 0) {
		g->answer.status = r;
		backup_text_add(&g->answer.text, "cannot choose the filesystems to freeze: %s\n", strerror(-r));
		backup_undo(g, g->hooks.n);
		return;
	}
	r = fsfreeze_freeze(&g->fz, g->timeout_ms, &failed);
	if (g->fz.watchdog.pid > 0) {
		g->watchdog_pid = g->fz.watchdog.pid;
		if (sd_event_add_child(g->s->event, &g->watchdog_src, g->watchdog_pid, WEXITED,
				       backup_watchdog_exited, g) < 0)
			log_msg(LOG_WARNING, "backup: cannot watch the watchdog process %d", g->watchdog_pid);
	}
	if (r < 0) {
		g->answer.status = r;
		backup_text_add(&g->answer.text, "cannot freeze %s: %s\n",
				failed < g->fz.n ? g->fz.mount_points[failed] : "?", strerror(-r));
		fsfreeze_release(&g->fz);
		backup_undo(g, g->hooks.n);
		return;
	}
	g->frozen_at = backup_now();
	g->phase = BACKUP_FROZEN;
	service_watch_host(g->s, true);
	for (i = 0; i < g->fz.n; i++)
		if (g->fz.frozen[i]) {
			backup_text_add_path(&g->answer.text, g->fz.mount_points[i]);
			g->answer.nfilesystems++;
		}
	if (!g->answer.nfilesystems)
		g->answer.flags |= VMBUS_BACKUP_F_NOTHING_FROZEN;
	/*
	 * Ours besides the watchdog's: it covers a freeze with nothing frozen
	 * (no watchdog), whose hooks still need their `thaw`.
	 */
	r = sd_event_add_time(g->s->event, &g->deadline, CLOCK_MONOTONIC,
			      g->frozen_at + (uint64_t)g->timeout_ms * 1000 + BACKUP_DEADLINE_GRACE_US, 0,
			      backup_deadline_passed, g);
	if (r < 0)
		log_msg(LOG_WARNING, "backup: no deadline timer (%s): the watchdog alone thaws",
			strerror(-r));
	log_msg(LOG_NOTICE, "backup: froze %u filesystem(s) in %llu ms (watchdog: %u ms)",
		g->answer.nfilesystems, (unsigned long long)((g->frozen_at - g->started) / 1000),
		g->timeout_ms);
	backup_answer_pending(g);
}

static void backup_pre_hooks_done(struct hooks_run *run, void *userdata)
{
	struct backup_guest *g = userdata;
	char how[96];

	if (run->failed) {
		hook_result_describe(&run->failure, how, sizeof(how));
		g->answer.status = -EIO;
		backup_text_add(&g->answer.text, "pre-freeze hook %s %s\n", run->failure.name, how);
		if (run->failure.output_len)
			backup_text_add_tail(&g->answer.text, run->failure.output, run->failure.output_len);
		backup_undo(g, run->started);
		return;
	}
	if (g->host_gone) {
		g->answer.status = -ENODEV;
		backup_undo(g, run->started);
		return;
	}
	backup_freeze_now(g);
}

/* ---------------------------------------------------------------- requests */

static void backup_freeze_request(struct backup_guest *g, const struct vmbus_ic_hdr *h,
				  const struct vmbus_ic_backup *req)
{
	int r;

	if (g->phase == BACKUP_FROZEN) {
		backup_refuse(g, h, req, -EBUSY, "already frozen");
		return;
	}
	if (g->phase != BACKUP_IDLE) {
		backup_refuse(g, h, req, -EBUSY, "a freeze or thaw is under way");
		return;
	}
	if (req->timeout_ms && (req->timeout_ms < VMBUS_BACKUP_TIMEOUT_MIN_MS ||
				req->timeout_ms > VMBUS_BACKUP_TIMEOUT_MAX_MS)) {
		backup_refuse(g, h, req, -EINVAL, "the watchdog timeout must be 1000 to 60000 ms");
		return;
	}
	backup_take_request(g, h, req);
	backup_answer_init(&g->answer);
	g->unreported = false;
	g->host_gone = false;
	g->timeout_ms = req->timeout_ms ? req->timeout_ms : VMBUS_BACKUP_TIMEOUT_DEFAULT_MS;
	g->backup_id = req->backup_id;
	snprintf(g->env_id, sizeof(g->env_id), "OPENVMBUS_BACKUP_ID=%llu",
		 (unsigned long long)req->backup_id);
	log_msg(LOG_NOTICE, "backup: the host asks to freeze (backup %llu, watchdog %u ms)",
		(unsigned long long)req->backup_id, g->timeout_ms);
	r = hooks_scan(HOOKS_DIR, &g->hooks);
	if (r < 0) {
		g->answer.status = r;
		backup_text_add(&g->answer.text, "cannot run the hooks in %s: %s\n", HOOKS_DIR,
				r == -EPERM ? "the directory may be changed by others than root" : strerror(-r));
		backup_answer_pending(g);
		return;
	}
	backup_owe_hooks(g);
	g->phase = BACKUP_PRE_HOOKS;
	backup_run_hooks(g, g->hooks.n, "freeze", BACKUP_HOOKS_BUDGET_S, backup_pre_hooks_done);
}

static void backup_thaw_request(struct backup_guest *g, const struct vmbus_ic_hdr *h,
				const struct vmbus_ic_backup *req)
{
	struct backup_answer a;

	switch (g->phase) {
	case BACKUP_FROZEN:
		log_msg(LOG_NOTICE, "backup: the host asks to thaw");
		backup_take_request(g, h, req);
		backup_thaw(g, true, "asked by the host");
		return;
	case BACKUP_POST_HOOKS:
		if (!g->pending) {	/* thawed by itself: answered once the hooks are done */
			backup_take_request(g, h, req);
			return;
		}
		break;
	case BACKUP_IDLE:
		if (g->unreported) {
			g->unreported = false;
			backup_send(g, h, req, 0, &g->report);
		} else {
			backup_answer_init(&a);
			a.flags = VMBUS_BACKUP_F_NOTHING_FROZEN;
			backup_send(g, h, req, 0, &a);
		}
		return;
	default:
		break;
	}
	backup_refuse(g, h, req, -EBUSY, "a freeze or thaw is under way");
}

static void backup_status_request(struct backup_guest *g, const struct vmbus_ic_hdr *h,
				  const struct vmbus_ic_backup *req)
{
	struct backup_answer a;
	size_t i;

	backup_answer_init(&a);
	if (g->phase == BACKUP_FROZEN)
		for (i = 0; i < g->fz.n; i++)
			if (g->fz.frozen[i]) {
				backup_text_add_path(&a.text, g->fz.mount_points[i]);
				a.nfilesystems++;
			}
	if (!a.nfilesystems)
		a.flags = VMBUS_BACKUP_F_NOTHING_FROZEN;
	backup_send(g, h, req, 0, &a);
}

static void backup_handle(struct service *s, const struct vmbus_ic_hdr *h, const uint8_t *payload)
{
	struct backup_guest *g = &backup_guest;
	struct vmbus_ic_backup req;

	if (h->type != VMBUS_IC_BACKUP || h->payload_len < sizeof(req)) {
		log_msg(LOG_WARNING, "backup: malformed message from the host ignored");
		return;
	}
	memcpy(&req, payload, sizeof(req));
	g->s = s;
	switch (req.op) {
	case VMBUS_BACKUP_FREEZE:
		backup_freeze_request(g, h, &req);
		break;
	case VMBUS_BACKUP_THAW:
		backup_thaw_request(g, h, &req);
		break;
	case VMBUS_BACKUP_STATUS:
		backup_status_request(g, h, &req);
		break;
	default:
		backup_refuse(g, h, &req, -EINVAL, "unknown request");
	}
}

/* ------------------------------------------------------- service life */

/* Hooks a killed predecessor left with `freeze` get `thaw` now. */
static void backup_recover(struct backup_guest *g)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	g->recovered = true;
	f = fopen(BACKUP_OWED_FILE, "re");
	if (!f)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len)
			(void)hooks_list_add(HOOKS_DIR, &g->hooks, line);	/* logs what it skips */
	}
	free(line);
	fclose(f);
	log_msg(LOG_WARNING, "backup: the last run of the daemon ended during a backup: "
		"%zu hook(s) get thaw now", g->hooks.n);
	snprintf(g->env_id, sizeof(g->env_id), "OPENVMBUS_BACKUP_ID=0");
	backup_answer_init(&g->answer);
	g->answer.flags = VMBUS_BACKUP_F_NOTHING_FROZEN;
	g->phase = BACKUP_POST_HOOKS;
	backup_run_hooks(g, g->hooks.n, "thaw", BACKUP_HOOKS_BUDGET_S, backup_post_hooks_done);
}

static void backup_connected(struct service *s)
{
	struct backup_guest *g = &backup_guest;

	g->s = s;
	s->priv = g;
	if (!g->recovered && g->phase == BACKUP_IDLE)
		backup_recover(g);
}

/* The channel is gone (host worker reset, service rescinded, bus gone): thaw at once. */
static void backup_disconnected(struct service *s)
{
	struct backup_guest *g = &backup_guest;

	(void)s;
	g->pending = false;	/* nobody to answer */
	if (g->phase == BACKUP_PRE_HOOKS)
		g->host_gone = true;
	else if (g->phase == BACKUP_FROZEN)
		backup_thaw(g, false, "the channel to the host closed");
}

/*
 * The host worker stopped answering while we hold filesystems frozen: it
 * was killed or is stopping, and its THAW may never come. Thaw now rather
 * than at the watchdog's deadline (a worker stuck for 5 s fails the guest's
 * disk requests too: a backup could not go on through that either).
 */
static void backup_host_silent(struct service *s)
{
	struct backup_guest *g = &backup_guest;

	(void)s;
	if (g->phase == BACKUP_FROZEN)
		backup_thaw(g, false, "the host stopped answering");
}

static void backup_stop(struct service *s)
{
	struct backup_guest *g = &backup_guest;

	(void)s;
	hooks_run_cancel(&g->run);
	if (g->phase == BACKUP_FROZEN)
		log_msg(LOG_WARNING, "backup: thawing: the daemon stops");
	fsfreeze_release(&g->fz);
	kvp_pool_flush_held();
	g->deadline = sd_event_source_disable_unref(g->deadline);
	backup_reap_watchdog(g);
	/* Hooks still owed `thaw` stay in BACKUP_OWED_FILE for the next start. */
	hooks_list_free(&g->hooks);
	g->phase = BACKUP_IDLE;
}

bool backup_frozen(void)
{
	return backup_guest.phase == BACKUP_FROZEN && fsfreeze_count(&backup_guest.fz) > 0;
}

const struct service_ops backup_service_ops = {
	.name = "backup",
	.version_min = VMBUS_IC_BACKUP_VERSION_1,
	.version_max = VMBUS_IC_BACKUP_VERSION_1,
	.handle = backup_handle,
	.connected = backup_connected,
	.disconnected = backup_disconnected,
	.host_silent = backup_host_silent,
	.stop = backup_stop,
};
