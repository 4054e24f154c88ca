// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * storage_io.c - the I/O engines behind a disk's queues (see storage_io.h).
 *
 * Flush is fdatasync, FUA a write with RWF_DSYNC, discard punches a hole,
 * write-zeroes zeroes the range (punching a hole, then writing zeroes,
 * where the filesystem cannot zero in place). A read past the end of an
 * image that shrank under us reads zeroes. A request the O_DIRECT
 * descriptor refuses (EINVAL: alignment the probe did not foresee) is
 * retried on the buffered one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "host/devices/storage_io.h"
#include "vmbus/storage.h"

#define STORAGE_THREADS 4

struct storage_engine {
	enum storage_engine_kind kind;
	int efd;			/* eventfd: completions wait (uring, threads) */
	unsigned int inflight;
	struct storage_io *done_head, **done_tail;	/* finished, not yet reaped */
	/* io_uring */
	struct io_uring ring;
	unsigned int unsubmitted;
	/* threads */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* work queued, or stop */
	pthread_cond_t idle;		/* a request finished */
	struct storage_io *todo_head, **todo_tail;
	pthread_t threads[STORAGE_THREADS];
	unsigned int nthreads;
	bool stop;
};

static uint32_t storage_io_status(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return VMBUS_STOR_S_NO_SPACE;
	case EOPNOTSUPP:
		return VMBUS_STOR_S_UNSUPPORTED;
	default:
		return VMBUS_STOR_S_IO_ERROR;
	}
}

/* Advance io's iovec past n bytes (the kernel may transfer less than asked). */
static void storage_io_advance(struct storage_io *io, size_t n)
{
	io->off += n;
	io->len -= n;
	while (io->niov && n >= io->iov->iov_len) {
		n -= io->iov->iov_len;
		io->iov++;
		io->niov--;
	}
	if (io->niov && n) {
		io->iov->iov_base = (uint8_t *)io->iov->iov_base + n;
		io->iov->iov_len -= n;
	}
}

/* The image ended before the read did: the rest reads as zeroes. */
static void storage_io_zero_rest(struct storage_io *io)
{
	for (int i = 0; i < io->niov; i++)
		memset(io->iov[i].iov_base, 0, io->iov[i].iov_len);
	io->len = 0;
}

static bool storage_io_is_rw(const struct storage_io *io)
{
	return io->op == STORAGE_IO_READ || io->op == STORAGE_IO_WRITE;
}

/*
 * One transfer result (bytes, or -errno) for a read or write: true when the
 * request is finished (status set), false when the rest must be issued.
 */
static bool storage_io_rw_result(struct storage_io *io, long res)
{
	if (res == -EINTR || res == -EAGAIN)
		return false;
	if (res == -EINVAL && io->cur_fd == io->direct_fd && io->cur_fd != io->fd) {
		io->cur_fd = io->fd;
		return false;
	}
	if (res < 0) {
		io->status = storage_io_status((int)-res);
		return true;
	}
	if (res == 0) {
		if (io->op == STORAGE_IO_WRITE) {
			io->status = VMBUS_STOR_S_IO_ERROR;
			return true;
		}
		storage_io_zero_rest(io);
	} else {
		storage_io_advance(io, (size_t)res);
	}
	if (io->len)
		return false;
	io->status = VMBUS_STOR_S_OK;
	return true;
}

static uint32_t storage_io_write_zeroes(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];

	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return VMBUS_STOR_S_OK;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return VMBUS_STOR_S_OK;
	while (len) {
		size_t chunk = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t n = pwrite(fd, zeroes, chunk, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? storage_io_status(errno) : VMBUS_STOR_S_IO_ERROR;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return VMBUS_STOR_S_OK;
}

void storage_io_run(struct storage_io *io)
{
	switch (io->op) {
	case STORAGE_IO_READ:
	case STORAGE_IO_WRITE:
		if (io->cur_fd < 0)
			io->cur_fd = io->direct_fd >= 0 ? io->direct_fd : io->fd;
		for (;;) {
			ssize_t n = io->op == STORAGE_IO_WRITE
				? pwritev2(io->cur_fd, io->iov, io->niov, (off_t)io->off,
					   io->fua ? RWF_DSYNC : 0)
				: preadv(io->cur_fd, io->iov, io->niov, (off_t)io->off);

			if (storage_io_rw_result(io, n < 0 ? -errno : n))
				return;
		}
	case STORAGE_IO_FLUSH:
		io->status = fdatasync(io->fd) < 0 ? storage_io_status(errno) : VMBUS_STOR_S_OK;
		return;
	case STORAGE_IO_DISCARD:
		io->status = fallocate(io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				       (off_t)io->off, (off_t)io->len) < 0
			? storage_io_status(errno) : VMBUS_STOR_S_OK;
		return;
	case STORAGE_IO_WRITE_ZEROES:
		io->status = storage_io_write_zeroes(io->fd, io->off, io->len);
		return;
	}
	io->status = VMBUS_STOR_S_UNSUPPORTED;
}

int storage_io_open_direct(int fd, bool readonly, uint32_t *ret_align)
{
	static const uint32_t aligns[] = { 512, 4096 };
	char path[64];
	void *buf;
	int dfd, r = -EINVAL;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dfd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (posix_memalign(&buf, 8192, 8192)) {
		close(dfd);
		return -ENOMEM;
	}
	/* The smallest alignment a read at offset 0 accepts (buffer off a larger boundary). */
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		if (pread(dfd, (uint8_t *)buf + aligns[i], aligns[i], 0) >= 0) {
			*ret_align = aligns[i];
			r = 0;
			break;
		}
		r = -errno;
		if (r != -EINVAL)
			break;
	}
	free(buf);
	if (r < 0) {
		close(dfd);
		return r;
	}
	return dfd;
}

/* ------------------------------------------------------------------ engines */

static void storage_engine_finish(struct storage_engine *e, struct storage_io *io)
{
	io->next = NULL;
	*e->done_tail = io;
	e->done_tail = &io->next;
}

static void storage_engine_signal(struct storage_engine *e)
{
	uint64_t one = 1;

	/* Cannot fail short of a full counter (2^64 - 2 signals unread). */
	if (write(e->efd, &one, sizeof(one)) < 0)
		return;
}

static void *storage_thread(void *arg)
{
	struct storage_engine *e = arg;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct storage_io *io;

		while (!e->todo_head && !e->stop)
			pthread_cond_wait(&e->cond, &e->lock);
		if (!e->todo_head)
			break;
		io = e->todo_head;
		e->todo_head = io->next;
		if (!e->todo_head)
			e->todo_tail = &e->todo_head;
		pthread_mutex_unlock(&e->lock);
		storage_io_run(io);
		pthread_mutex_lock(&e->lock);
		storage_engine_finish(e, io);
		pthread_cond_broadcast(&e->idle);
		storage_engine_signal(e);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static int storage_threads_start(struct storage_engine *e)
{
	int r;

	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	pthread_cond_init(&e->idle, NULL);
	for (e->nthreads = 0; e->nthreads < STORAGE_THREADS; e->nthreads++) {
		r = pthread_create(&e->threads[e->nthreads], NULL, storage_thread, e);
		if (r)
			return e->nthreads ? 0 : -r;
	}
	return 0;
}

static void storage_threads_stop(struct storage_engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	for (unsigned int i = 0; i < e->nthreads; i++)
		pthread_join(e->threads[i], NULL);
	pthread_cond_destroy(&e->idle);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
}

static int storage_uring_start(struct storage_engine *e, unsigned int depth, const char **ret_why)
{
	int r = io_uring_queue_init(depth, &e->ring, 0);

	if (r < 0) {
		*ret_why = "io_uring_setup failed";
		return r;
	}
	r = io_uring_register_eventfd(&e->ring, e->efd);
	if (r < 0) {
		*ret_why = "io_uring cannot signal an eventfd";
		io_uring_queue_exit(&e->ring);
		return r;
	}
	return 0;
}

int storage_engine_new(enum storage_engine_kind want, unsigned int depth,
		       struct storage_engine **ret, const char **ret_why)
{
	struct storage_engine *e = calloc(1, sizeof(*e));
	int r = 0;

	*ret_why = NULL;
	if (!e)
		return -ENOMEM;
	e->kind = want;
	e->efd = -1;
	e->done_tail = &e->done_head;
	e->todo_tail = &e->todo_head;
	if (want != STORAGE_ENGINE_SYNC) {
		e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (e->efd < 0) {
			r = -errno;
			free(e);
			return r;
		}
	}
	if (want == STORAGE_ENGINE_URING && storage_uring_start(e, depth, ret_why) < 0)
		e->kind = STORAGE_ENGINE_THREADS;
	if (e->kind == STORAGE_ENGINE_THREADS && (r = storage_threads_start(e)) < 0) {
		close(e->efd);
		free(e);
		return r;
	}
	*ret = e;
	return 0;
}

enum storage_engine_kind storage_engine_kind(const struct storage_engine *e)
{
	return e->kind;
}

const char *storage_engine_name(enum storage_engine_kind k)
{
	switch (k) {
	case STORAGE_ENGINE_URING:	return "io_uring";
	case STORAGE_ENGINE_THREADS:	return "threads";
	case STORAGE_ENGINE_SYNC:	return "sync";
	}
	return "?";
}

int storage_engine_from_env(enum storage_engine_kind *ret)
{
	const char *v = getenv("OPENVMBUS_STORAGE_ENGINE");

	*ret = STORAGE_ENGINE_URING;
	if (!v || !*v)
		return 0;
	for (enum storage_engine_kind k = STORAGE_ENGINE_URING; k <= STORAGE_ENGINE_SYNC; k++) {
		if (strcmp(v, storage_engine_name(k)) == 0) {
			*ret = k;
			return 0;
		}
	}
	return -EINVAL;
}

int storage_engine_fd(const struct storage_engine *e)
{
	return e->efd;
}

/* An SQE for io at its current position. */
static void storage_uring_prep(struct storage_engine *e, struct storage_io *io)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&e->ring))) {
		/* More requests than the ring was sized for in one batch: pass these on first. */
		io_uring_submit(&e->ring);
		e->unsubmitted = 0;
	}
	switch (io->op) {
	case STORAGE_IO_READ:
		io_uring_prep_readv(sqe, io->cur_fd, io->iov, (unsigned int)io->niov, io->off);
		break;
	case STORAGE_IO_WRITE:
		io_uring_prep_writev(sqe, io->cur_fd, io->iov, (unsigned int)io->niov, io->off);
		if (io->fua)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case STORAGE_IO_FLUSH:
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		break;
	case STORAGE_IO_DISCARD:
		io_uring_prep_fallocate(sqe, io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)io->off, (off_t)io->len);
		break;
	case STORAGE_IO_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, io->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					(off_t)io->off, (off_t)io->len);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	e->unsubmitted++;
}

void storage_engine_submit(struct storage_engine *e, struct storage_io *io)
{
	io->cur_fd = storage_io_is_rw(io) && io->direct_fd >= 0 ? io->direct_fd : io->fd;
	io->status = VMBUS_STOR_S_IO_ERROR;
	e->inflight++;
	switch (e->kind) {
	case STORAGE_ENGINE_SYNC:
		storage_io_run(io);
		storage_engine_finish(e, io);
		break;
	case STORAGE_ENGINE_THREADS:
		pthread_mutex_lock(&e->lock);
		io->next = NULL;
		*e->todo_tail = io;
		e->todo_tail = &io->next;
		pthread_cond_signal(&e->cond);
		pthread_mutex_unlock(&e->lock);
		break;
	case STORAGE_ENGINE_URING:
		storage_uring_prep(e, io);
		break;
	}
}

void storage_engine_commit(struct storage_engine *e)
{
	if (e->kind == STORAGE_ENGINE_URING && e->unsubmitted) {
		io_uring_submit(&e->ring);
		e->unsubmitted = 0;
	}
}

/* One io_uring completion: finished, or issued again for the rest. */
static void storage_uring_complete(struct storage_engine *e, struct storage_io *io, int res)
{
	if (storage_io_is_rw(io)) {
		if (!storage_io_rw_result(io, res)) {
			storage_uring_prep(e, io);
			return;
		}
	} else if (io->op == STORAGE_IO_WRITE_ZEROES && (res == -EOPNOTSUPP || res == -EINVAL)) {
		/* No zero-range here: punch a hole or write zeroes (rare; done in line). */
		storage_io_run(io);
	} else {
		io->status = res < 0 ? storage_io_status(-res) : VMBUS_STOR_S_OK;
	}
	storage_engine_finish(e, io);
}

/* Move what the kernel or the threads finished to the done list. */
static void storage_engine_collect(struct storage_engine *e)
{
	uint64_t v;

	if (e->kind == STORAGE_ENGINE_SYNC)
		return;
	/* Reset the eventfd before looking, so a completion after the look signals again. */
	if (read(e->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (e->kind == STORAGE_ENGINE_URING) {
		struct io_uring_cqe *cqe;

		while (io_uring_peek_cqe(&e->ring, &cqe) == 0) {
			struct storage_io *io = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&e->ring, cqe);
			storage_uring_complete(e, io, res);
		}
		storage_engine_commit(e);
	}
}

int storage_engine_poll(struct storage_engine *e)
{
	if (e->kind != STORAGE_ENGINE_URING || !e->inflight)
		return -1;
	return io_uring_cq_ready(&e->ring) ? 1 : 0;
}

unsigned int storage_engine_reap(struct storage_engine *e, storage_io_done_fn done, void *ctx)
{
	struct storage_io *list, *io;
	unsigned int n = 0;

	storage_engine_collect(e);
	if (e->kind == STORAGE_ENGINE_THREADS)
		pthread_mutex_lock(&e->lock);
	list = e->done_head;
	e->done_head = NULL;
	e->done_tail = &e->done_head;
	if (e->kind == STORAGE_ENGINE_THREADS)
		pthread_mutex_unlock(&e->lock);
	while ((io = list)) {
		list = io->next;
		e->inflight--;
		n++;
		done(io, ctx);
	}
	return n;
}

void storage_engine_drain(struct storage_engine *e, storage_io_done_fn done, void *ctx)
{
	storage_engine_commit(e);
	while (storage_engine_reap(e, done, ctx), e->inflight) {
		if (e->kind == STORAGE_ENGINE_URING) {
			io_uring_submit_and_wait(&e->ring, 1);
		} else if (e->kind == STORAGE_ENGINE_THREADS) {
			pthread_mutex_lock(&e->lock);
			while (!e->done_head)
				pthread_cond_wait(&e->idle, &e->lock);
			pthread_mutex_unlock(&e->lock);
		}
	}
}

static void storage_engine_drop(struct storage_io *io, void *ctx)
{
	(void)io;
	(void)ctx;
}

void storage_engine_free(struct storage_engine *e)
{
	if (!e)
		return;
	storage_engine_drain(e, storage_engine_drop, NULL);
	if (e->kind == STORAGE_ENGINE_URING)
		io_uring_queue_exit(&e->ring);
	else if (e->kind == STORAGE_ENGINE_THREADS)
		storage_threads_stop(e);
	if (e->efd >= 0)
		close(e->efd);
	free(e);
}
