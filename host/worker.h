/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * worker.h - state of one vmbus-worker process (one per VM).
 */
#ifndef HOST_WORKER_H
#define HOST_WORKER_H

#include <limits.h>
#include <sys/types.h>

#include "host/bus.h"
#include "host/config.h"
#include "host/qmp.h"

/* Exit statuses of vmbus-worker (also in vmbus-worker --help). */
enum worker_exit {
	WORKER_EXIT_POWEROFF	= 0,	/* the guest powered off (or was stopped cleanly) */
	WORKER_EXIT_ERROR	= 1,	/* the worker could not set the VM up */
	WORKER_EXIT_CRASHED	= 2,	/* QEMU failed or died on a signal we did not send */
	WORKER_EXIT_KILLED	= 3,	/* QEMU was killed on request (stop --force) */
};

struct worker_watch;
struct control_conn;
struct backup_job;

/* Busy polling: the first window, and the default limits (OPENVMBUS_POLL_US, _GUEST_US). */
#define WORKER_POLL_START_NS	4000u
#define WORKER_POLL_MAX_NS	50000u
#define WORKER_POLL_LIMIT_US	10000u	/* the largest limit one may set */
/* The guest's turn: the first wait, and the longest gap still taken for a turn. */
#define WORKER_TURN_START_NS	100000u
#define WORKER_TURN_MAX_NS	1000000u

/* QMP node name of the [VM] Disk= virtio disk (backups address it). */
#define WORKER_QEMU_DISK_NODE "ovmb-qemu0"

struct worker {
	struct vm_config cfg;
	char run_dir[PATH_MAX];
	const char *qemu_bin;
	const char *accel;
	char accel_why[128];
	struct guestmem mem;
	int bar_fd;
	void *bar;
	uint32_t bar_size;
	uint32_t nvectors;
	struct ivshmem_server ivs;
	struct bus bus;
	struct qmp qmp;
	int epfd, timer_fd, signal_fd, control_fd;
	struct bus_loop loop;		/* what backends see of the event loop */
	struct worker_watch *watches;	/* backends' event sources */
	struct control_conn *control_conns;	/* clients whose request is still coming */
	/* Busy polling before sleeping (worker_poll()): the window now and its limit. */
	uint64_t poll_ns, poll_max_ns;
	uint64_t poll_hits, poll_sleeps;	/* work found by waiting in a poll; sleeps with work in flight */
	/*
	 * The guest's turn (worker_turn_*()): after an interrupt, with nothing
	 * in flight, sleep until just before the guest usually rings again,
	 * then poll for up to turn_win_ns.
	 */
	uint64_t turn_ns;		/* the wait: about the 11th percentile of the turns */
	uint64_t turn_win_ns, turn_max_ns;	/* the window after it, and its limit */
	uint64_t turn_from;		/* the interrupt (bus.last_signal_ns) of turn_state */
	uint64_t turn_done;		/* the last interrupt whose turn was accounted for */
	int turn_state;			/* TURN_* in worker.c */
	uint64_t turn_hits, turn_early, turn_misses;	/* rings while polling, before, after */
	struct backup_job *backup;	/* the running or last backup */
	pid_t qemu_pid;
	double started;
	char run_state[32];		/* from QMP: running, paused, shutdown, ... */
	double paused_at;		/* devices_now() of the last QMP STOP; 0 while running */
	unsigned int ticks;
	double stop_deadline;		/* 0: no stop in progress */
	bool kill_sent;
	bool quit;
	int exit_code;
	const char *exit_reason;
};

/* A polling limit in microseconds (0..WORKER_POLL_LIMIT_US) as ns; -EINVAL if not. */
int worker_parse_poll_us(const char *text, uint64_t *ret_ns);
/* The worker's CPU time so far, user + system, in seconds. */
double worker_cpu_seconds(void);

/* Path of a file in the run directory (sockets, logs, pid files). */
int worker_run_path(const struct worker *w, const char *name, char *buf, size_t n);
/* Begin stopping the VM: ACPI power-down, killed after timeout_s (0: never); force kills now. */
void worker_stop(struct worker *w, bool force, double timeout_s);

/* control.c */
int control_listen(struct worker *w);
void control_handle_connection(struct worker *w);
void control_tick(struct worker *w);
void control_close_all(struct worker *w);

#endif
