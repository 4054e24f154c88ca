// SPDX-License-Identifier: GPL-2.0
/*
 * hooks.c - scanning and running the backup hooks (see hooks.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest-linux/openvmbusd/fd.h"
#include "guest-linux/openvmbusd/hooks.h"
#include "guest-linux/openvmbusd/log.h"

#define USEC_PER_SEC	1000000ULL
#define HOOKS_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Leftovers of package managers and editors, never hooks. */
static const char *const hook_ignored_suffixes[] = {
	"~", ".bak", ".dpkg-dist", ".dpkg-new", ".dpkg-old", ".dpkg-tmp", ".rpmnew", ".rpmorig",
	".rpmsave", ".swp", ".ucf-dist", ".ucf-new", ".ucf-old", NULL,
};

static bool hook_name_ok(const char *name)
{
	size_t len = strlen(name), i;
	const char *const *s;

	if (!len || name[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	for (s = hook_ignored_suffixes; *s; s++) {
		size_t n = strlen(*s);

		if (len > n && strcmp(name + len - n, *s) == 0)
			return false;
	}
	return true;
}

/* Why st must not be run (or be trusted to hold hooks), or NULL. */
static const char *hook_unsafe(const struct stat *st, bool dir)
{
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return dir ? "not a directory" : "not a regular file";
	if (st->st_uid != 0)
		return "not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	if (!dir && !(st->st_mode & S_IXUSR))
		return "not executable";
	return NULL;
}

/* 0 when dir/name may run; logs why not. */
static int hook_check(int dirfd, const char *dir, const char *name)
{
	const char *why;
	struct stat st;

	if (!hook_name_ok(name)) {
		log_msg(LOG_INFO, "backup: skipping %s/%s: not a hook name", dir, name);
		return -EINVAL;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		log_msg(LOG_INFO, "backup: skipping %s/%s: %m", dir, name);
		return -errno;
	}
	why = hook_unsafe(&st, false);
	if (why) {
		log_msg(LOG_WARNING, "backup: skipping %s/%s: %s", dir, name, why);
		return -EPERM;
	}
	return 0;
}

/* The directory as a descriptor, if root alone may change it; 0 if missing. */
static int hooks_open_dir(const char *dir, int *ret_fd)
{
	const char *why;
	struct stat st;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	why = hook_unsafe(&st, true);
	if (why) {
		log_msg(LOG_ERR, "backup: not running hooks from %s: the directory is %s", dir, why);
		close(fd);
		return -EPERM;
	}
	*ret_fd = fd;
	return 1;
}

static int hooks_append(struct hook_list *l, const char *name)
{
	char **names = realloc(l->names, (l->n + 1) * sizeof(*names));

	if (!names)
		return -ENOMEM;
	l->names = names;
	l->names[l->n] = strdup(name);
	if (!l->names[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static int hooks_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int hooks_scan(const char *dir, struct hook_list *ret)
{
	struct hook_list l = { 0 };
	struct dirent *de;
	int fd, r;
	DIR *d;

	*ret = l;
	r = hooks_open_dir(dir, &fd);
	if (r <= 0)
		return r;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	r = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (hook_check(dirfd(d), dir, de->d_name) < 0)
			continue;
		r = hooks_append(&l, de->d_name);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r < 0) {
		hooks_list_free(&l);
		return r;
	}
	if (l.n)
		qsort(l.names, l.n, sizeof(*l.names), hooks_name_cmp);
	*ret = l;
	return 0;
}

int hooks_list_add(const char *dir, struct hook_list *l, const char *name)
{
	int fd, r;

	r = hooks_open_dir(dir, &fd);
	if (r <= 0)
		return r ? r : -ENOENT;
	r = hook_check(fd, dir, name);
	close(fd);
	return r < 0 ? r : hooks_append(l, name);
}

void hooks_list_free(struct hook_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

void hook_result_describe(const struct hook_result *res, char *buf, size_t size)
{
	if (res->error)
		snprintf(buf, size, "could not be started: %s", strerror(-res->error));
	else if (res->timed_out)
		snprintf(buf, size, "did not finish within %d s (killed)", HOOK_TIMEOUT_S);
	else if (res->signal)
		snprintf(buf, size, "killed by SIG%s", sigabbrev_np(res->signal) ? sigabbrev_np(res->signal) : "?");
	else
		snprintf(buf, size, "exited with status %d", res->exit_status);
}

static bool hook_result_ok(const struct hook_result *res)
{
	return !res->error && !res->timed_out && !res->signal && res->exit_status == 0;
}

/* Keep the last HOOK_OUTPUT_MAX bytes. */
static void hook_output_add(struct hook_result *res, const char *data, size_t len)
{
	size_t max = sizeof(res->output), drop;

	if (len > max) {
		data += len - max;
		len = max;
		res->output_cut = true;
	}
	if (res->output_len + len > max) {
		drop = res->output_len + len - max;
		memmove(res->output, res->output + drop, res->output_len - drop);
		res->output_len -= drop;
		res->output_cut = true;
	}
	memcpy(res->output + res->output_len, data, len);
	res->output_len += len;
}

/* Read what the hook wrote; false at end of file or error. */
static bool hook_output_read(struct hooks_run *run)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(run->out_fd, buf, sizeof(buf));
		if (n > 0) {
			hook_output_add(&run->cur, buf, (size_t)n);
			continue;
		}
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	}
}

static void hook_log_output(const struct hook_result *res, int level)
{
	const char *p = res->output, *end = res->output + res->output_len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		log_msg(level, "backup: hook %s: %.*s", res->name, (int)((nl ? nl : end) - p), p);
		p = nl ? nl + 1 : end;
	}
}

static void hooks_next(struct hooks_run *run);

static void hooks_stop_sources(struct hooks_run *run)
{
	run->io = sd_event_source_disable_unref(run->io);
	run->timer = sd_event_source_disable_unref(run->timer);
	run->defer = sd_event_source_disable_unref(run->defer);
	if (run->out_fd >= 0)
		close(run->out_fd);
	run->out_fd = -1;
}

static int hook_output_ready(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct hooks_run *run = userdata;

	(void)src, (void)fd, (void)revents;
	if (!hook_output_read(run))	/* end of file: only the exit is left */
		run->io = sd_event_source_disable_unref(run->io);
	return 0;
}

static int hook_timed_out(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct hooks_run *run = userdata;

	(void)src, (void)usec;
	run->cur.timed_out = true;
	if (run->pid > 0)
		kill(-run->pid, SIGKILL);	/* its own process group */
	return 0;
}

static int hook_exited(sd_event_source *src, const siginfo_t *si, void *userdata)
{
	struct hooks_run *run = userdata;
	struct hook_result *res = &run->cur;
	uint64_t now;
	char how[96];

	(void)src;
	/*
	 * What it started in the background may keep the pipe open (a helper
	 * that holds a database lock until `thaw`): take what is there, do not
	 * wait for the end of file.
	 */
	if (run->out_fd >= 0)
		(void)hook_output_read(run);
	waitpid(run->pid, NULL, WNOHANG);	/* reaped here: the source goes now */
	run->child = sd_event_source_unref(run->child);
	hooks_stop_sources(run);
	run->pid = 0;
	if (si->si_code == CLD_EXITED)
		res->exit_status = si->si_status;
	else
		res->signal = si->si_status;
	sd_event_now(run->event, CLOCK_MONOTONIC, &now);
	hook_result_describe(res, how, sizeof(how));
	log_msg(hook_result_ok(res) ? LOG_INFO : LOG_WARNING, "backup: hook %s %s: %s after %llu ms",
		res->name, run->arg, hook_result_ok(res) ? "done" : how,
		(unsigned long long)((now - run->hook_start) / 1000));
	hook_log_output(res, hook_result_ok(res) ? LOG_INFO : LOG_WARNING);
	if (!hook_result_ok(res) && !run->failed) {
		run->failed = true;
		run->failure = *res;
	}
	hooks_next(run);
	return 0;
}

static void __attribute__((noreturn))
hook_exec(const char *dir, const char *name, const char *arg, char *const *env, int out)
{
	char path[4096];
	char *argv[3];
	sigset_t none;
	int null;

	/* What the daemon blocks or ignores is not the hook's business. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		_exit(126);
	fd_close_range(3, ~0U);
	if (chdir("/") < 0)
		_exit(126);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	argv[0] = path;
	argv[1] = (char *)arg;
	argv[2] = NULL;
	execve(path, argv, env);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* Start hook i; 0, or a negative errno with nothing left running. */
static int hook_start(struct hooks_run *run, size_t i)
{
	uint64_t now, end;
	int p[2], r;
	pid_t pid;

	memset(&run->cur, 0, sizeof(run->cur));
	run->cur.name = run->list->names[i];
	run->cur.exit_status = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0)
		hook_exec(run->dir, run->cur.name, run->arg, run->env, p[1]);
	close(p[1]);
	run->pid = pid;
	run->out_fd = p[0];
	run->started++;
	sd_event_now(run->event, CLOCK_MONOTONIC, &now);
	run->hook_start = now;
	end = now + HOOK_TIMEOUT_S * USEC_PER_SEC;
	if (end > run->deadline)
		end = run->deadline;
	r = fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
	if (r == 0)
		r = sd_event_add_io(run->event, &run->io, p[0], EPOLLIN, hook_output_ready, run);
	if (r == 0)
		r = sd_event_add_time(run->event, &run->timer, CLOCK_MONOTONIC, end, 0, hook_timed_out, run);
	if (r == 0)
		r = sd_event_add_child(run->event, &run->child, pid, WEXITED, hook_exited, run);
	if (r < 0) {
		/* Without its sources we cannot watch it: end it now. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		run->pid = 0;
		run->child = sd_event_source_unref(run->child);
		hooks_stop_sources(run);
		return r;
	}
	return 0;
}

static void hooks_finish(struct hooks_run *run)
{
	run->running = false;
	hooks_stop_sources(run);
	run->done_fn(run, run->userdata);
}

/* The next hook, or the end. */
static void hooks_next(struct hooks_run *run)
{
	size_t i;
	int r;

	while (run->started < run->count && !(run->failed && run->stop_on_failure)) {
		i = run->descending ? run->count - 1 - run->started : run->started;
		r = hook_start(run, i);
		if (r == 0)
			return;
		log_msg(LOG_ERR, "backup: cannot run hook %s: %s", run->list->names[i], strerror(-r));
		run->started++;
		run->cur.error = r;
		if (!run->failed) {
			run->failed = true;
			run->failure = run->cur;
		}
	}
	hooks_finish(run);
}

static int hooks_begin(sd_event_source *src, void *userdata)
{
	struct hooks_run *run = userdata;

	(void)src;
	run->defer = sd_event_source_disable_unref(run->defer);
	hooks_next(run);
	return 0;
}

int hooks_run_start(struct hooks_run *run, sd_event *event, const char *dir,
		    const struct hook_list *list, size_t count, const char *arg, bool descending,
		    bool stop_on_failure, unsigned int budget_s, const char *const *env,
		    hooks_done_fn fn, void *userdata)
{
	size_t i, n = 0;
	uint64_t now;
	int r;

	memset(run, 0, sizeof(*run));
	run->event = event;
	run->dir = dir;
	run->list = list;
	run->count = count < list->n ? count : list->n;
	run->arg = arg;
	run->descending = descending;
	run->stop_on_failure = stop_on_failure;
	run->done_fn = fn;
	run->userdata = userdata;
	run->out_fd = -1;
	run->env[n++] = (char *)HOOKS_PATH;
	for (i = 0; env && env[i] && n < sizeof(run->env) / sizeof(run->env[0]) - 1; i++)
		run->env[n++] = (char *)env[i];
	run->env[n] = NULL;
	sd_event_now(event, CLOCK_MONOTONIC, &now);
	run->deadline = now + budget_s * USEC_PER_SEC;
	/* From the event loop, so that fn never runs inside this call. */
	r = sd_event_add_defer(event, &run->defer, hooks_begin, run);
	if (r < 0)
		return r;
	run->running = true;
	return 0;
}

void hooks_run_cancel(struct hooks_run *run)
{
	if (!run->running)
		return;
	if (run->pid > 0) {
		kill(-run->pid, SIGKILL);
		kill(run->pid, SIGKILL);
		waitpid(run->pid, NULL, 0);
		log_msg(LOG_WARNING, "backup: hook %s %s killed: the daemon stops", run->cur.name, run->arg);
	}
	run->pid = 0;
	run->child = sd_event_source_unref(run->child);
	hooks_stop_sources(run);
	run->running = false;
}
