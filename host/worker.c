// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * worker.c - vmbus-worker: one process per VM. Creates guest RAM and the
 * bus memory, serves the ivshmem socket, starts QEMU as its child, and runs
 * the channel manager, QMP client and control socket on one epoll loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/accel.h"
#include "host/devices.h"
#include "host/devices/storage.h"
#include "host/log.h"
#include "host/backup_job.h"
#include "host/worker.h"

#define WORKER_TICK_MS		100
#define WORKER_KILL_GRACE_S	5.0

/* epoll tags */
enum {
	TAG_IVSHMEM_LISTEN = 1, TAG_IVSHMEM_CLIENT, TAG_CONTROL_DOORBELL, TAG_CHANNEL_DOORBELL,
	TAG_TIMER, TAG_SIGNAL, TAG_QMP, TAG_CONTROL,
	TAG_MAX = 256,	/* above: a struct worker_watch pointer */
};

/* A backend's event source. Freed after the epoll batch that may still name it. */
struct worker_watch {
	int fd;
	bool dead;
	void (*fn)(void *arg);
	bus_poll_fn poll;
	void *arg;
	struct worker_watch *next;
};

int worker_run_path(const struct worker *w, const char *name, char *buf, size_t n)
{
	if ((size_t)snprintf(buf, n, "%s/%s", w->run_dir, name) >= n)
		return -ENAMETOOLONG;
	return 0;
}

static int worker_epoll_add(struct worker *w, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int worker_watch(void *loop, int fd, void (*fn)(void *arg), bus_poll_fn poll, void *arg)
{
	struct worker *w = loop;
	struct worker_watch *wa = calloc(1, sizeof(*wa));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!wa)
		return -ENOMEM;
	*wa = (struct worker_watch){ .fd = fd, .fn = fn, .poll = poll, .arg = arg,
				     .next = w->watches };
	ev.data.u64 = (uintptr_t)wa;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;

		free(wa);
		return r;
	}
	w->watches = wa;
	return 0;
}

static void worker_unwatch(void *loop, int fd)
{
	struct worker *w = loop;

	for (struct worker_watch *wa = w->watches; wa; wa = wa->next) {
		if (wa->fd == fd && !wa->dead) {
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
			wa->dead = true;
			return;
		}
	}
}

static void worker_free_dead_watches(struct worker *w)
{
	struct worker_watch **pp = &w->watches, *wa;

	while ((wa = *pp)) {
		if (wa->dead) {
			*pp = wa->next;
			free(wa);
		} else {
			pp = &wa->next;
		}
	}
}

static int worker_write_pidfile(const struct worker *w, const char *name, pid_t pid)
{
	char path[PATH_MAX];
	FILE *f;

	if (worker_run_path(w, name, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)pid);
	return fclose(f) == 0 ? 0 : -errno;
}

/* ---------------------------------------------------------------- QEMU */

static int worker_spawn_qemu(struct worker *w)
{
	char ram[128], memsize[32], smp[16], chardev[PATH_MAX + 64], qmp[PATH_MAX + 64];
	char console[2 * PATH_MAX + 96], ivshmem[64], drive[PATH_MAX + 64], logpath[PATH_MAX];
	char sock[PATH_MAX], qmpsock[PATH_MAX], consock[PATH_MAX], conlog[PATH_MAX];
	const char *argv[128];
	char *extra = NULL, *save = NULL, *tok;
	int argc = 0, logfd;
	pid_t pid;

	if (worker_run_path(w, "vmbus.sock", sock, sizeof(sock)) < 0 ||
	    worker_run_path(w, "qmp.sock", qmpsock, sizeof(qmpsock)) < 0 ||
	    worker_run_path(w, "console.sock", consock, sizeof(consock)) < 0 ||
	    worker_run_path(w, "console.log", conlog, sizeof(conlog)) < 0 ||
	    worker_run_path(w, "qemu.log", logpath, sizeof(logpath)) < 0)
		return -ENAMETOOLONG;
	snprintf(ram, sizeof(ram), "memory-backend-file,id=ram,size=%lluM,mem-path=/proc/self/fd/%d,share=on",
		 (unsigned long long)(w->cfg.memory >> 20), w->mem.fd);
	snprintf(memsize, sizeof(memsize), "%lluM", (unsigned long long)(w->cfg.memory >> 20));
	/*
	 * QEMU's TCG drops a guest's memory barriers when the machine can only
	 * ever have one vCPU (nothing else could observe the order) - but this
	 * worker observes it, and the ring protocol's store-then-load checks
	 * need those barriers. Room for a second vCPU keeps them.
	 */
	if (strcmp(w->accel, "kvm") != 0 && w->cfg.cpus == 1)
		snprintf(smp, sizeof(smp), "1,maxcpus=2");
	else
		snprintf(smp, sizeof(smp), "%u", w->cfg.cpus);
	snprintf(chardev, sizeof(chardev), "socket,id=vmbus,path=%s", sock);
	snprintf(ivshmem, sizeof(ivshmem), "ivshmem-doorbell,chardev=vmbus,vectors=%u", w->nvectors);
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", qmpsock);
	snprintf(console, sizeof(console), "socket,id=console,path=%s,server=on,wait=off,logfile=%s",
		 consock, conlog);

	argv[argc++] = w->qemu_bin;
	argv[argc++] = "-name";
	argv[argc++] = w->cfg.name;
	argv[argc++] = "-machine";
	argv[argc++] = "q35,memory-backend=ram";
	argv[argc++] = "-accel";
	argv[argc++] = w->accel;
	argv[argc++] = "-cpu";
	argv[argc++] = strcmp(w->accel, "kvm") == 0 ? "host" : "max";
	argv[argc++] = "-m";
	argv[argc++] = memsize;
	argv[argc++] = "-smp";
	argv[argc++] = smp;
	argv[argc++] = "-object";
	argv[argc++] = ram;
	argv[argc++] = "-chardev";
	argv[argc++] = chardev;
	argv[argc++] = "-device";
	argv[argc++] = ivshmem;
	argv[argc++] = "-qmp";
	argv[argc++] = qmp;
	argv[argc++] = "-chardev";
	argv[argc++] = console;
	argv[argc++] = "-serial";
	argv[argc++] = "chardev:console";
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-no-user-config";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	if (w->cfg.kernel) {
		argv[argc++] = "-kernel";
		argv[argc++] = w->cfg.kernel;
		if (w->cfg.initrd) {
			argv[argc++] = "-initrd";
			argv[argc++] = w->cfg.initrd;
		}
		argv[argc++] = "-append";
		argv[argc++] = w->cfg.append ? w->cfg.append : "console=ttyS0";
	}
	if (w->cfg.disk) {
		snprintf(drive, sizeof(drive), "file=%s,if=virtio,format=raw,node-name=%s",
			 w->cfg.disk, WORKER_QEMU_DISK_NODE);
		argv[argc++] = "-drive";
		argv[argc++] = drive;
	}
	if (w->cfg.qemu_args) {
		extra = strdup(w->cfg.qemu_args);
		if (!extra)
			return -ENOMEM;
		for (tok = strtok_r(extra, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
			if (argc >= (int)(sizeof(argv) / sizeof(argv[0])) - 1) {
				free(extra);
				return log_error_errno(-E2BIG, "QemuArgs has too many arguments");
			}
			argv[argc++] = tok;
		}
	}
	argv[argc] = NULL;

	logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		free(extra);
		return log_error_errno(-errno, "cannot create %s: %m", logpath);
	}
	pid = fork();
	if (pid < 0) {
		free(extra);
		close(logfd);
		return -errno;
	}
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDONLY);

		/* QEMU outlives a killed worker: own session, default signals, RAM fd kept. */
		setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		fcntl(w->mem.fd, F_SETFD, 0);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	free(extra);
	w->qemu_pid = pid;
	worker_write_pidfile(w, "qemu.pid", pid);
	log_info("started %s (pid %d, %s: %s, %u MiB, %u CPUs)", w->qemu_bin, (int)pid, w->accel,
		 w->accel_why, (unsigned int)(w->cfg.memory >> 20), w->cfg.cpus);
	return 0;
}

static void worker_qmp_event(void *ctx, const char *event, const struct json_value *data)
{
	struct worker *w = ctx;

	backup_job_qmp_event(w->backup, event, data);
	if (strcmp(event, "RESET") == 0) {
		bus_guest_reset(&w->bus, "the guest reset (reboot)");
	} else if (strcmp(event, "SHUTDOWN") == 0) {
		const char *reason = json_get_string(data, "reason");

		log_info("QEMU: guest shut down (%s)", reason ? reason : "unknown reason");
		snprintf(w->run_state, sizeof(w->run_state), "shutdown");
	} else if (strcmp(event, "STOP") == 0) {
		snprintf(w->run_state, sizeof(w->run_state), "paused");
		w->bus.vm_paused = true;
		if (!w->paused_at)
			w->paused_at = devices_now();
	} else if (strcmp(event, "RESUME") == 0) {
		struct device *dev;
		double paused = w->paused_at ? devices_now() - w->paused_at : 0;

		snprintf(w->run_state, sizeof(w->run_state), "running");
		w->bus.vm_paused = false;
		w->paused_at = 0;
		if (paused > 0)
			log_info("QEMU: the VM runs again after %.1f s paused", paused);
		for (dev = w->bus.devices; dev; dev = dev->next)
			if (dev->ops->vm_resumed)
				dev->ops->vm_resumed(dev, paused);
	}
}

static void worker_query_status_reply(void *ctx, const struct json_value *reply, const char *error)
{
	struct worker *w = ctx;
	const char *status = json_get_string(reply, "status");

	if (error || !status) {
		log_warning("QMP query-status failed: %s", error ? error : "no status");
		return;
	}
	snprintf(w->run_state, sizeof(w->run_state), "%s", status);
}

static void worker_qmp_tick(struct worker *w)
{
	char path[PATH_MAX];

	if (w->qmp.fd >= 0 || w->qemu_pid <= 0)
		return;
	if (worker_run_path(w, "qmp.sock", path, sizeof(path)) < 0)
		return;
	if (qmp_connect(&w->qmp, path) == 0) {
		if (worker_epoll_add(w, w->qmp.fd, TAG_QMP) < 0)
			qmp_close(&w->qmp);
	}
}

void worker_stop(struct worker *w, bool force, double timeout_s)
{
	if (w->qemu_pid <= 0)
		return;
	if (force) {
		log_info("stopping the VM by force");
		w->exit_reason = "stopped by force on request";
		w->kill_sent = true;
		/* QMP quit ends QEMU at once; SIGKILL if it cannot be asked or does not. */
		if (qmp_command(&w->qmp, "quit", NULL, NULL, NULL) == 0) {
			w->stop_deadline = devices_now() + WORKER_KILL_GRACE_S;
		} else {
			kill(w->qemu_pid, SIGKILL);
		}
		return;
	}
	if (timeout_s > 0)
		log_info("asking the guest to power down (ACPI), %.0f s before it is killed", timeout_s);
	else
		log_info("asking the guest to power down (ACPI)");
	if (qmp_command(&w->qmp, "system_powerdown", NULL, NULL, NULL) < 0)
		log_warning("QMP is not connected: cannot send the ACPI power-down");
	w->stop_deadline = timeout_s > 0 ? devices_now() + timeout_s : 0;
}

static void worker_tick(struct worker *w)
{
	uint64_t expirations;

	if (read(w->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warning("timer read failed: %m");
	worker_qmp_tick(w);
	if (w->stop_deadline && devices_now() > w->stop_deadline && w->qemu_pid > 0) {
		if (!w->kill_sent) {
			log_warning("the guest did not power off in time; killing QEMU");
			w->exit_reason = "killed after the stop timeout";
		} else {
			log_warning("QEMU did not quit; killing it");
		}
		w->kill_sent = true;
		w->stop_deadline = 0;
		kill(w->qemu_pid, SIGKILL);
	}
	if (++w->ticks % (1000 / WORKER_TICK_MS) == 0) {
		bus_tick(&w->bus);
		control_tick(w);
	}
}

static void worker_qemu_exited(struct worker *w, int status)
{
	w->qemu_pid = -1;
	w->quit = true;
	if (w->kill_sent) {
		w->exit_code = WORKER_EXIT_KILLED;
		log_info("QEMU was killed (%s)", w->exit_reason ? w->exit_reason : "on request");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		w->exit_code = WORKER_EXIT_POWEROFF;
		log_info("QEMU exited: the guest powered off");
	} else if (WIFSIGNALED(status)) {
		w->exit_code = WORKER_EXIT_CRASHED;
		log_error("QEMU died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else {
		w->exit_code = WORKER_EXIT_CRASHED;
		log_error("QEMU failed with exit status %d (see qemu.log)", WEXITSTATUS(status));
	}
}

static void worker_signal(struct worker *w)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	if (read(w->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	switch (si.ssi_signo) {
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == w->qemu_pid)
				worker_qemu_exited(w, status);
		break;
	case SIGTERM:
	case SIGINT:
		if (w->stop_deadline) {
			worker_stop(w, true, 0);
		} else {
			worker_stop(w, false, 60);
		}
		break;
	}
}

static void worker_turn_seen(struct worker *w);

/*
 * Before sleeping, look for work without a system call: completions of a
 * backend's I/O in flight, and guest doorbells (their bits in the event
 * bitmap come before the doorbell). While something is in flight, keep
 * looking for up to poll_ns: work found here costs no wake-up of the
 * worker (docs/decisions.md, "Polling"). Returns true when work was done;
 * otherwise *ret_pending says whether something is still in flight.
 */
static bool worker_poll(struct worker *w, bool *ret_pending)
{
	uint64_t deadline = 0, now;
	bool pending;

	for (;;) {
		pending = false;
		if (bus_channel_events_pending(&w->bus)) {
			w->poll_hits += deadline != 0;
			worker_turn_seen(w);
			bus_handle_channel_doorbell(&w->bus);
			return true;
		}
		for (struct worker_watch *wa = w->watches; wa; wa = wa->next) {
			int p;

			if (wa->dead || !wa->poll)
				continue;
			p = wa->poll(wa->arg);
			if (p > 0) {
				w->poll_hits += deadline != 0;	/* found by waiting: a sleep saved */
				wa->fn(wa->arg);
				bus_process_resets(&w->bus);
				return true;
			}
			if (p == 0)
				pending = true;
		}
		if (!pending || !w->poll_ns)
			break;
		now = devices_now_ns();
		if (!deadline)
			deadline = now + w->poll_ns;
		else if (now >= deadline)
			break;
	}
	*ret_pending = pending;
	return false;
}

/* A polling window doubles from WORKER_POLL_START_NS up to max ... */
static void worker_window_grow(uint64_t *win, uint64_t max)
{
	*win = *win ? *win * 2 : WORKER_POLL_START_NS;
	if (*win > max)
		*win = max;
}

/* ... and halves down to it, then to 0. */
static void worker_window_shrink(uint64_t *win)
{
	*win /= 2;
	if (*win < WORKER_POLL_START_NS)
		*win = 0;
}

/*
 * Adapt the polling window to how long the loop slept while work was in
 * flight (the way QEMU's event loop does): a sleep shorter than the
 * limit would have been caught by a longer window, so grow it; one
 * beyond the limit means this work is too slow to poll for, so shrink it.
 */
static void worker_poll_adapt(struct worker *w, uint64_t slept_ns)
{
	if (slept_ns > w->poll_max_ns)
		worker_window_shrink(&w->poll_ns);
	else if (slept_ns > w->poll_ns)
		worker_window_grow(&w->poll_ns, w->poll_max_ns);
}

/*
 * The guest's turn: the time from an interrupt we send it to its next
 * doorbell, while nothing else is in flight (at queue depth 1, the guest
 * handling a completion and sending the next request). Rather than sleep
 * through it and pay a wake-up on the doorbell, the loop sleeps for a
 * low percentile of the turns seen (turn_ns) and then polls for up to
 * turn_win_ns (docs/decisions.md, "Polling").
 */
enum { TURN_NONE, TURN_WAITING, TURN_POLLING, TURN_MISSED };

/* The guest never rang after the window that missed: it was idle. */
static void worker_turn_forget(struct worker *w, uint64_t from)
{
	if (w->turn_state != TURN_MISSED || from == w->turn_from)
		return;
	worker_window_shrink(&w->turn_win_ns);
	w->turn_done = w->turn_from;
	w->turn_state = TURN_NONE;
}

/*
 * The guest rang: account for its turn since our last interrupt. A ring
 * before the polling began shortens the wait by 1/16, any later one
 * lengthens it by 1/128, so the wait settles where about one turn in nine
 * is shorter. The window opens up to its limit while the guest takes
 * turns, and halves for each interrupt it leaves unanswered (an idle guest
 * costs no polling).
 */
static void worker_turn_seen(struct worker *w)
{
	uint64_t from = w->bus.last_signal_ns, turn;
	int state;

	worker_turn_forget(w, from);
	state = from == w->turn_from ? w->turn_state : TURN_NONE;
	if (!from || from == w->turn_done)
		return;
	turn = devices_now_ns() - from;
	w->turn_done = from;
	w->turn_state = TURN_NONE;
	if (turn > WORKER_TURN_MAX_NS) {
		if (state == TURN_MISSED)
			worker_window_shrink(&w->turn_win_ns);
		return;			/* the guest was idle, not taking a turn */
	}
	if (state == TURN_WAITING || (state == TURN_NONE && turn < w->turn_ns)) {
		w->turn_early += state == TURN_WAITING;
		w->turn_ns -= w->turn_ns / 16;
	} else {
		w->turn_hits += state == TURN_POLLING;
		w->turn_ns += w->turn_ns / 128 + 1;
		if (w->turn_ns > WORKER_TURN_MAX_NS)
			w->turn_ns = WORKER_TURN_MAX_NS;
	}
	worker_window_grow(&w->turn_win_ns, w->turn_max_ns);	/* the guest takes turns */
}

/*
 * Nothing to do and nothing in flight. Returns true with *ts the time
 * left until the guest's turn is due to end, if the loop should wake
 * then and poll (worker_turn_poll()); false to sleep until an event.
 */
static bool worker_turn_wait(struct worker *w, struct timespec *ts)
{
	uint64_t from = w->bus.last_signal_ns, now, due;

	worker_turn_forget(w, from);
	if (!from || from == w->turn_done || !w->turn_win_ns ||
	    (from == w->turn_from && w->turn_state != TURN_WAITING))
		return false;
	now = devices_now_ns();
	if (now - from > WORKER_TURN_MAX_NS)
		return false;
	w->turn_from = from;
	w->turn_state = TURN_WAITING;
	due = from + w->turn_ns;
	due = due > now ? due - now : 0;
	ts->tv_sec = (time_t)(due / 1000000000u);
	ts->tv_nsec = (long)(due % 1000000000u);
	return true;
}

/* The wait is over: poll for the guest's ring for up to the window. */
static void worker_turn_poll(struct worker *w)
{
	uint64_t end = devices_now_ns() + w->turn_win_ns;
	bool pending;

	w->turn_state = TURN_POLLING;
	do {
		/* Other work found on the way is done; the guest's ring ends the wait. */
		if (worker_poll(w, &pending) && w->turn_state != TURN_POLLING)
			return;		/* worker_turn_seen() counted it */
	} while (devices_now_ns() < end && !w->quit);
	w->turn_misses++;
	w->turn_state = TURN_MISSED;
}

int worker_parse_poll_us(const char *text, uint64_t *ret_ns)
{
	char *end;
	unsigned long us;

	errno = 0;
	us = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || us > WORKER_POLL_LIMIT_US)
		return -EINVAL;
	*ret_ns = (uint64_t)us * 1000;
	return 0;
}

/* A polling limit from the environment; the default where unset or invalid. */
static uint64_t worker_env_poll_ns(const char *name)
{
	const char *v = getenv(name);
	uint64_t ns = WORKER_POLL_MAX_NS;

	if (v && *v && worker_parse_poll_us(v, &ns) < 0) {
		log_warning("%s=%s is not 0..%u microseconds: polling up to %u us", name, v,
			    WORKER_POLL_LIMIT_US, WORKER_POLL_MAX_NS / 1000);
		ns = WORKER_POLL_MAX_NS;
	}
	return ns;
}

double worker_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441	/* Linux 5.11, the same number on every architecture */
#endif

/*
 * epoll_wait with a timeout in nanoseconds (NULL: none). Through the
 * system call, as C libraries before glibc 2.35 lack the wrapper; a kernel
 * before 5.11 gets epoll_wait, the timeout rounded up to milliseconds.
 */
static int worker_epoll_wait(struct worker *w, struct epoll_event *ev, int n,
			     const struct timespec *ts)
{
	static bool no_pwait2;
	int r;

	if (!no_pwait2) {
		r = (int)syscall(SYS_epoll_pwait2, w->epfd, ev, n, ts, NULL, (size_t)0);
		if (r >= 0 || errno != ENOSYS)
			return r;
		no_pwait2 = true;
		log_info("no epoll_pwait2 (Linux before 5.11): timed waits in milliseconds");
	}
	return epoll_wait(w->epfd, ev, n,
			  !ts ? -1 : (int)(ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000));
}

static void worker_loop(struct worker *w)
{
	struct epoll_event ev[16];
	int n, i;

	while (!w->quit) {
		bool busy = false, pending = false, turn = false;
		struct timespec zero = { 0, 0 }, due;
		uint64_t slept = 0;

		if (w->poll_max_ns || w->turn_max_ns)
			busy = worker_poll(w, &pending);
		if (pending && !busy)
			slept = devices_now_ns();
		else if (!busy)
			turn = worker_turn_wait(w, &due);
		n = worker_epoll_wait(w, ev, 16, busy ? &zero : turn ? &due : NULL);
		if (slept) {
			w->poll_sleeps++;
			worker_poll_adapt(w, devices_now_ns() - slept);
		}
		if (turn && n == 0) {
			worker_turn_poll(w);
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait failed: %m");
			w->exit_code = WORKER_EXIT_ERROR;
			return;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64 >= TAG_MAX) {
				struct worker_watch *wa = (struct worker_watch *)(uintptr_t)ev[i].data.u64;

				if (!wa->dead) {
					wa->fn(wa->arg);
					/* What the backend asked for (a channel reset) is done now. */
					bus_process_resets(&w->bus);
				}
				continue;
			}
			switch (ev[i].data.u64) {
			case TAG_IVSHMEM_LISTEN:
				if (ivshmem_server_accept(&w->ivs) == 0) {
					worker_epoll_add(w, w->ivs.client_fd, TAG_IVSHMEM_CLIENT);
					log_info("QEMU connected to the bus socket");
				}
				break;
			case TAG_IVSHMEM_CLIENT: {
				char junk[64];

				/* QEMU never sends; EOF means it is gone. */
				if (recv(w->ivs.client_fd, junk, sizeof(junk), MSG_DONTWAIT) == 0) {
					epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->ivs.client_fd, NULL);
				}
				break;
			}
			case TAG_CONTROL_DOORBELL:
				ivshmem_drain(w->ivs.host_efd[VMBUS_VECTOR_CONTROL]);
				bus_handle_control_doorbell(&w->bus);
				break;
			case TAG_CHANNEL_DOORBELL:
				ivshmem_drain(w->ivs.host_efd[VMBUS_VECTOR_TO_HOST_EVENTS]);
				/* No bits: polling took this ring already, it ends no turn. */
				if (bus_channel_events_pending(&w->bus))
					worker_turn_seen(w);
				bus_handle_channel_doorbell(&w->bus);
				break;
			case TAG_TIMER:
				worker_tick(w);
				break;
			case TAG_SIGNAL:
				worker_signal(w);
				break;
			case TAG_QMP: {
				bool was_ready = w->qmp.ready;

				if (qmp_handle_input(&w->qmp) < 0) {
					epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->qmp.fd, NULL);
					qmp_close(&w->qmp);
				} else if (!was_ready && w->qmp.ready) {
					log_debug("QMP connected");
					qmp_command(&w->qmp, "query-status", NULL,
						    worker_query_status_reply, w);
				}
				break;
			}
			case TAG_CONTROL:
				control_handle_connection(w);
				break;
			}
		}
		worker_free_dead_watches(w);
	}
}

/* --------------------------------------------------------------- setup */

static int worker_create_bar(struct worker *w)
{
	w->bar_size = VMBUS_DEFAULT_BAR_SIZE;
	w->bar_fd = memfd_create("openvmbus-bar2", MFD_CLOEXEC);
	if (w->bar_fd < 0)
		return -errno;
	if (ftruncate(w->bar_fd, w->bar_size) < 0)
		return -errno;
	w->bar = mmap(NULL, w->bar_size, PROT_READ | PROT_WRITE, MAP_SHARED, w->bar_fd, 0);
	if (w->bar == MAP_FAILED)
		return -errno;
	return 0;
}

static int worker_add_services(struct worker *w)
{
	unsigned int i;
	int r;

	for (i = 0; i < w->cfg.nservices; i++) {
		const struct device_ops *ops = devices_find(w->cfg.services[i]);

		if (!ops) {
			log_error("unknown integration service '%s' in the VM definition",
				  w->cfg.services[i]);
			return -EINVAL;
		}
		r = bus_add_device(&w->bus, ops, NULL);
		if (r < 0)
			return log_error_errno(r, "cannot add %s: %m", ops->name);
	}
	for (i = 0; i < w->cfg.ndisks; i++) {
		const struct config_disk *d = &w->cfg.disks[i];
		struct storage_disk_config dc = { .path = d->path, .readonly = d->readonly,
						  .serial = d->serial };
		char name[DEVICE_NAME_MAX];

		snprintf(name, sizeof(name), "disk%u", i);
		r = storage_disk_add(&w->bus, name, &dc, NULL);
		if (r < 0)
			return log_error_errno(r, "cannot add %s (%s): %m", name, d->path);
		log_info("%s: %s%s", name, d->path, d->readonly ? " (read-only)" : "");
	}
	return 0;
}

static int worker_setup(struct worker *w, const char *accel_cache)
{
	char path[PATH_MAX];
	struct itimerspec its = { { 0, WORKER_TICK_MS * 1000000L }, { 0, WORKER_TICK_MS * 1000000L } };
	sigset_t mask;
	int r;

	if (mkdir(w->run_dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(-errno, "cannot create %s: %m", w->run_dir);
	if (chmod(w->run_dir, 0700) < 0)
		return log_error_errno(-errno, "cannot restrict %s: %m", w->run_dir);
	worker_write_pidfile(w, "worker.pid", getpid());

	w->accel = accel_resolve(w->cfg.accel, w->qemu_bin, w->cfg.kernel, accel_cache, w->accel_why);

	r = guestmem_create(&w->mem, w->cfg.memory);
	if (r < 0)
		return log_error_errno(r, "cannot create %llu MiB of guest RAM: %m",
				       (unsigned long long)(w->cfg.memory >> 20));
	r = worker_create_bar(w);
	if (r < 0)
		return log_error_errno(r, "cannot create the bus memory: %m");
	w->nvectors = w->cfg.cpus + 1 > VMBUS_MAX_VECTORS ? VMBUS_MAX_VECTORS : w->cfg.cpus + 1;
	if (w->nvectors < 2)
		w->nvectors = 2;
	r = bus_init(&w->bus, &w->mem, &w->ivs, w->bar, w->bar_size, w->nvectors);
	if (r < 0)
		return log_error_errno(r, "cannot lay out the bus memory: %m");
	/* Backends watch their fds from the first channel open on, when epfd exists. */
	w->loop = (struct bus_loop){ .watch = worker_watch, .unwatch = worker_unwatch, .loop = w };
	w->poll_max_ns = worker_env_poll_ns("OPENVMBUS_POLL_US");
	w->turn_max_ns = worker_env_poll_ns("OPENVMBUS_POLL_GUEST_US");
	w->turn_ns = WORKER_TURN_START_NS;
	/* Wake from the wait for the guest's turn on time (the default slack is 50 us). */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	w->bus.loop = &w->loop;
	r = worker_add_services(w);
	if (r < 0)
		return r;

	if (worker_run_path(w, "vmbus.sock", path, sizeof(path)) < 0)
		return log_error_errno(-ENAMETOOLONG, "run directory path too long: %s", w->run_dir);
	r = ivshmem_server_listen(&w->ivs, path, w->bar_fd, w->nvectors);
	if (r < 0)
		return log_error_errno(r, "cannot listen on %s: %m", path);
	r = control_listen(w);
	if (r < 0)
		return log_error_errno(r, "cannot create the control socket: %m");

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	w->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->epfd < 0 || w->timer_fd < 0 || w->signal_fd < 0 ||
	    timerfd_settime(w->timer_fd, 0, &its, NULL) < 0)
		return log_error_errno(-errno, "cannot set up the event loop: %m");
	if (worker_epoll_add(w, w->ivs.listen_fd, TAG_IVSHMEM_LISTEN) < 0 ||
	    worker_epoll_add(w, w->ivs.host_efd[VMBUS_VECTOR_CONTROL], TAG_CONTROL_DOORBELL) < 0 ||
	    worker_epoll_add(w, w->ivs.host_efd[VMBUS_VECTOR_TO_HOST_EVENTS], TAG_CHANNEL_DOORBELL) < 0 ||
	    worker_epoll_add(w, w->timer_fd, TAG_TIMER) < 0 ||
	    worker_epoll_add(w, w->signal_fd, TAG_SIGNAL) < 0 ||
	    worker_epoll_add(w, w->control_fd, TAG_CONTROL) < 0)
		return log_error_errno(-errno, "cannot set up the event loop: %m");
	w->started = devices_now();
	snprintf(w->run_state, sizeof(w->run_state), "running");
	return worker_spawn_qemu(w);
}

/* Remove what only a running worker needs; logs stay for the user. */
static void worker_cleanup_run_dir(const struct worker *w)
{
	static const char *const files[] = { "control.sock", "vmbus.sock", "worker.pid",
					     "qmp.sock", "console.sock", "qemu.pid" };
	char path[PATH_MAX];
	unsigned int i, n = sizeof(files) / sizeof(files[0]);

	/* A QEMU that outlived us still needs its sockets and pid file. */
	if (w->qemu_pid > 0)
		n -= 3;
	for (i = 0; i < n; i++)
		if (worker_run_path(w, files[i], path, sizeof(path)) == 0)
			unlink(path);
}

static void worker_usage(FILE *f)
{
	fprintf(f,
		"Usage: vmbus-worker --config FILE --run-dir DIR [options]\n"
		"Runs one VM: serves its openvmbus devices and starts QEMU as a child.\n"
		"Normally started by 'vmbusctl start'.\n\n"
		"  --config FILE        VM definition (INI, see vmbusctl create)\n"
		"  --run-dir DIR        sockets, logs and pid files (created 0700)\n"
		"  --qemu PATH          QEMU binary (default qemu-system-x86_64)\n"
		"  --accel-cache FILE   where the KVM probe result is kept\n"
		"  --verbose            debug logging\n\n"
		"Exit status: 0 the guest powered off; 1 setup error; 2 QEMU crashed;\n"
		"3 QEMU killed on request (stop --force or stop timeout).\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "qemu", required_argument, NULL, 'q' },
		{ "accel-cache", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct worker w;
	const char *config = NULL, *run_dir = NULL, *accel_cache = NULL;
	unsigned int line = 0;
	int c, r;

	w.qemu_bin = "qemu-system-x86_64";
	w.qemu_pid = -1;
	w.control_fd = w.epfd = w.timer_fd = w.signal_fd = w.bar_fd = -1;
	log_init("vmbus-worker", NULL);
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'r': run_dir = optarg; break;
		case 'q': w.qemu_bin = optarg; break;
		case 'a': accel_cache = optarg; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': worker_usage(stdout); return 0;
		default: worker_usage(stderr); return WORKER_EXIT_ERROR;
		}
	}
	if (!config || !run_dir) {
		worker_usage(stderr);
		return WORKER_EXIT_ERROR;
	}
	if (snprintf(w.run_dir, sizeof(w.run_dir), "%s", run_dir) >= (int)sizeof(w.run_dir))
		return WORKER_EXIT_ERROR;
	devices_run_dir = w.run_dir;
	config_init(&w.cfg);
	r = config_load(&w.cfg, config, &line);
	if (r < 0) {
		if (line)
			log_error("%s:%u: invalid VM definition line", config, line);
		else
			log_error_errno(r, "cannot read %s: %m", config);
		return WORKER_EXIT_ERROR;
	}
	log_init("vmbus-worker", w.cfg.name);
	qmp_init(&w.qmp, worker_qmp_event, &w);
	if (worker_setup(&w, accel_cache) < 0) {
		if (w.qemu_pid > 0) {
			kill(w.qemu_pid, SIGKILL);
			waitpid(w.qemu_pid, NULL, 0);
			w.qemu_pid = -1;
		}
		worker_cleanup_run_dir(&w);
		return WORKER_EXIT_ERROR;
	}
	worker_loop(&w);
	log_info("worker CPU time: %.2f s (user + system)", worker_cpu_seconds());
	if (w.poll_max_ns)
		log_info("event loop: %llu wake-ups saved by polling (window %llu us, limit %llu us)",
			 (unsigned long long)w.poll_hits, (unsigned long long)(w.poll_ns / 1000),
			 (unsigned long long)(w.poll_max_ns / 1000));
	else
		log_info("event loop: polling off (OPENVMBUS_POLL_US=0)");
	if (w.turn_max_ns)
		log_info("event loop: %llu guest doorbells found by polling for the guest's turn, "
			 "%llu early, %llu after the window (wait %llu us, window %llu us, limit %llu us)",
			 (unsigned long long)w.turn_hits, (unsigned long long)w.turn_early,
			 (unsigned long long)w.turn_misses, (unsigned long long)(w.turn_ns / 1000),
			 (unsigned long long)(w.turn_win_ns / 1000),
			 (unsigned long long)(w.turn_max_ns / 1000));
	else
		log_info("event loop: no polling for the guest's turn (OPENVMBUS_POLL_GUEST_US=0)");
	control_close_all(&w);
	backup_job_free(w.backup);
	qmp_close(&w.qmp);
	bus_destroy(&w.bus);
	for (struct worker_watch *wa = w.watches; wa; wa = wa->next)
		wa->dead = true;
	worker_free_dead_watches(&w);
	ivshmem_server_close(&w.ivs);
	guestmem_destroy(&w.mem);
	worker_cleanup_run_dir(&w);
	log_info("worker exits with status %d", w.exit_code);
	return w.exit_code;
}
