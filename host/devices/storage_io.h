/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * storage_io.h - I/O on a disk's backing file, with status codes of the
 * storage protocol (vmbus/storage.h), through an engine: one per guest
 * queue, so each queue has its own submission context.
 *
 *   io_uring  the default: requests go to the kernel in batches (one
 *             io_uring_enter per ring drain), completions come back through
 *             an eventfd in the worker's event loop;
 *   threads   a small thread pool doing positioned I/O, for kernels or
 *             sandboxes without io_uring (chosen automatically when
 *             io_uring cannot be set up);
 *   sync      I/O done at submission, on the caller's thread: for harnesses
 *             that have no event loop.
 *
 * OPENVMBUS_STORAGE_ENGINE=io_uring|threads|sync in the worker's environment
 * picks one (tests use it to exercise each).
 */
#ifndef HOST_DEVICES_STORAGE_IO_H
#define HOST_DEVICES_STORAGE_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum storage_io_op {
	STORAGE_IO_READ,
	STORAGE_IO_WRITE,
	STORAGE_IO_FLUSH,
	STORAGE_IO_DISCARD,
	STORAGE_IO_WRITE_ZEROES,
};

/* One request, owned by the caller; the engine may change iov, niov, off and len. */
struct storage_io {
	enum storage_io_op op;
	bool fua;			/* WRITE: durable before completion */
	int fd;				/* the backing file */
	int direct_fd;			/* the same file with O_DIRECT, or -1 */
	uint64_t off, len;		/* bytes */
	struct iovec *iov;		/* READ/WRITE */
	int niov;
	uint32_t status;		/* on completion: enum vmbus_stor_status */
	/* engine-private */
	int cur_fd;
	struct storage_io *next;
};

enum storage_engine_kind {
	STORAGE_ENGINE_URING,
	STORAGE_ENGINE_THREADS,
	STORAGE_ENGINE_SYNC,
};

struct storage_engine;
typedef void (*storage_io_done_fn)(struct storage_io *io, void *ctx);

/*
 * An engine for up to `depth` requests in flight. io_uring falls back to
 * threads when the kernel refuses it (*ret_why says why, for a log line).
 */
int storage_engine_new(enum storage_engine_kind want, unsigned int depth,
		       struct storage_engine **ret, const char **ret_why);
/* NULL-safe; waits for what is in flight first (its completions are dropped). */
void storage_engine_free(struct storage_engine *e);
enum storage_engine_kind storage_engine_kind(const struct storage_engine *e);
const char *storage_engine_name(enum storage_engine_kind k);
/* The engine from OPENVMBUS_STORAGE_ENGINE (default io_uring); -EINVAL if unknown. */
int storage_engine_from_env(enum storage_engine_kind *ret);
/* Readable when completions wait (the caller watches it); -1 for sync. */
int storage_engine_fd(const struct storage_engine *e);
/* Queue a request; the sync engine runs it now. Never fails: errors are statuses. */
void storage_engine_submit(struct storage_engine *e, struct storage_io *io);
/* Hand queued requests to the kernel (a no-op except for io_uring). */
void storage_engine_commit(struct storage_engine *e);
/*
 * For busy polling, without a system call: 1 when finished requests wait
 * for storage_engine_reap(), 0 when requests are in flight, -1 when none
 * are or the engine cannot tell (threads, sync).
 */
int storage_engine_poll(struct storage_engine *e);
/* Call done() for each finished request; returns how many. */
unsigned int storage_engine_reap(struct storage_engine *e, storage_io_done_fn done, void *ctx);
/* Wait until nothing is in flight, calling done() for each request as it finishes. */
void storage_engine_drain(struct storage_engine *e, storage_io_done_fn done, void *ctx);

/* Run one request synchronously (what the thread pool and the sync engine do). */
void storage_io_run(struct storage_io *io);

/*
 * An O_DIRECT descriptor for the file behind fd and the alignment of
 * buffer, offset and length it needs (512 or 4096), or -errno when the
 * filesystem does not take direct I/O (tmpfs).
 */
int storage_io_open_direct(int fd, bool readonly, uint32_t *ret_align);

#endif
