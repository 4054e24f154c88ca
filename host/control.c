// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * control.c - the worker's control socket (run-dir/control.sock, owner
 * only). One request per connection: a line "command [args]"; one reply:
 * a JSON object with "ok" and either the result or "error".
 * Protocol: docs/control-socket.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/backup_job.h"
#include "host/devices.h"
#include "host/devices/storage.h"
#include "host/log.h"
#include "host/worker.h"
#include "vmbus/classes.h"
#include "vmbus/ic.h"

/* Room for a KVP value (2048 bytes) with every byte %-escaped, and more. */
#define CONTROL_MAX_REQUEST 16384
#define CONTROL_MAX_ARGS 64
/* Clients connected at once that have not sent their whole request yet. */
#define CONTROL_MAX_CONNS 32
/* How long a client has to send its request. */
#define CONTROL_IDLE_TIMEOUT_S 30
/* How long the worker waits for a client to take its reply. */
#define CONTROL_REPLY_TIMEOUT_S 5
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

struct control_command {
	const char *name;
	int (*fn)(struct worker *w, int argc, char **argv, struct json_writer *out);
	const char *help;
};

static const struct control_command control_commands[];
static void control_poll_object(struct worker *w, struct json_writer *out);

/* A command's own error sentence for this request (instead of strerror). */
static const char *control_error;

static void control_guid(struct json_writer *out, const char *key, const struct vmbus_guid *g)
{
	char text[VMBUS_GUID_STRLEN + 1];

	vmbus_guid_format(g, text);
	json_string(out, key, text);
}

/* Shared ring words as they are now (diagnostics; the guest may change them). */
static void control_ring(struct json_writer *out, const char *key, const struct vmbus_ring *r)
{
	json_object_begin(out, key);
	json_uint(out, "write_index", vmbus_read_once(r->hdr->write_index));
	json_uint(out, "read_index", vmbus_read_once(r->hdr->read_index));
	json_uint(out, "pending_send_size", vmbus_read_once(r->hdr->pending_send_size));
	json_uint(out, "interrupt_mask", vmbus_read_once(r->hdr->interrupt_mask));
	json_uint(out, "host_index", r->index);
	json_object_end(out);
}

static void control_channel(struct json_writer *out, const struct channel *ch)
{
	json_object_begin(out, NULL);
	json_uint(out, "id", ch->id);
	json_string(out, "class", ch->dev ? ch->dev->ops->name : "removed");
	if (ch->dev && strcmp(ch->dev->name, ch->dev->ops->name))
		json_string(out, "device", ch->dev->name);
	if (ch->dev) {
		control_guid(out, "class_id", &ch->dev->ops->class_id);
		control_guid(out, "instance_id", &ch->dev->instance_id);
	}
	json_uint(out, "subchannel", ch->subchannel_index);
	json_string(out, "state", channel_state_name(ch->state));
	if (ch->state == CHANNEL_OPEN) {
		json_uint(out, "target_cpu", ch->target_cpu);
		json_uint(out, "vector", ch->vector);
		json_uint(out, "ring_bytes_to_host", ch->rx.size);
		json_uint(out, "ring_bytes_to_guest", ch->tx.size);
		control_ring(out, "to_host_ring", &ch->rx);
		control_ring(out, "to_guest_ring", &ch->tx);
		if (ch->dev) {
			const struct bus *b = ch->dev->bus;

			json_bool(out, "to_host_event_pending",
				  vmbus_read_once(b->to_host_events[ch->id / 64]) >> (ch->id % 64) & 1);
			json_bool(out, "to_guest_event_pending",
				  vmbus_read_once(b->to_guest_events[(size_t)ch->vector * b->bitmap_words +
								     ch->id / 64]) >> (ch->id % 64) & 1);
		}
	}
	json_uint(out, "guest_signals", ch->events);
	json_uint(out, "host_signals", ch->signals);
	json_uint(out, "missed_signals", ch->missed_signals);
	json_object_end(out);
}

static int control_status(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	struct bus *b = &w->bus;
	struct device *dev;

	(void)argc, (void)argv;
	json_string(out, "name", w->cfg.name);
	json_string(out, "state", w->run_state);
	json_int(out, "worker_pid", getpid());
	json_int(out, "qemu_pid", w->qemu_pid);
	json_string(out, "accel", w->accel);
	json_double(out, "uptime", devices_now() - w->started);
	json_uint(out, "memory_mib", w->cfg.memory >> 20);
	json_uint(out, "cpus", w->cfg.cpus);
	json_double(out, "worker_cpu_seconds", worker_cpu_seconds());
	control_poll_object(w, out);
	json_object_begin(out, "bus");
	json_bool(out, "connected", b->guest_state == BUS_GUEST_CONNECTED);
	if (b->guest_state == BUS_GUEST_CONNECTED) {
		char v[16];

		snprintf(v, sizeof(v), "%u.%u", VMBUS_VERSION_MAJOR(b->version),
			 VMBUS_VERSION_MINOR(b->version));
		json_string(out, "protocol", v);
	}
	json_uint(out, "connects", b->connects);
	json_uint(out, "protocol_errors", b->protocol_errors);
	json_uint(out, "channel_resets", b->resets);
	json_object_end(out);
	json_array_begin(out, "services");
	for (dev = b->devices; dev; dev = dev->next) {
		json_object_begin(out, NULL);
		json_string(out, "name", dev->name);
		json_string(out, "channel", dev->primary ? channel_state_name(dev->primary->state)
							 : "resetting");
		if (dev->primary)
			json_uint(out, "channel_id", dev->primary->id);
		if (dev->ops->status)
			dev->ops->status(dev, out);
		json_object_end(out);
	}
	json_array_end(out);
	return 0;
}

static int control_channels(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	uint32_t id;

	(void)argc, (void)argv;
	json_array_begin(out, "channels");
	for (id = 1; id < VMBUS_MAX_CHANNELS; id++)
		if (w->bus.channels[id])
			control_channel(out, w->bus.channels[id]);
	json_array_end(out);
	return 0;
}

static int control_stop(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	bool force = false, no_kill = false;
	double timeout = 60;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "--no-kill") == 0)
			no_kill = true;
		else if (strncmp(argv[i], "--timeout=", 10) == 0)
			timeout = strtod(argv[i] + 10, NULL);
		else
			return -EINVAL;
	}
	if (timeout <= 0 || (force && no_kill))
		return -EINVAL;
	/* --no-kill: ACPI power-down only; whoever asked decides what comes next. */
	worker_stop(w, force, no_kill ? 0 : timeout);
	json_bool(out, "force", force);
	return 0;
}

/* shutdown poweroff|reboot [--force] [--timeout=S] [--reason TEXT...] */
static int control_shutdown(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	struct device *dev = bus_find_device(&w->bus, "shutdown");
	char reason[VMBUS_SHUTDOWN_REASON_MAX + 1] = "";
	uint32_t action, timeout = 60;
	bool force = false;
	size_t len = 0;
	int i, r;

	if (argc < 2)
		return -EINVAL;
	if (strcmp(argv[1], "poweroff") == 0)
		action = VMBUS_SHUTDOWN_POWEROFF;
	else if (strcmp(argv[1], "reboot") == 0)
		action = VMBUS_SHUTDOWN_REBOOT;
	else
		return -EINVAL;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (strncmp(argv[i], "--timeout=", 10) == 0) {
			timeout = (uint32_t)strtoul(argv[i] + 10, NULL, 10);
		} else if (strcmp(argv[i], "--reason") == 0) {
			for (i++; i < argc; i++) {
				size_t n = strlen(argv[i]);

				if (len + n + 1 > VMBUS_SHUTDOWN_REASON_MAX)
					return -E2BIG;
				if (len)
					reason[len++] = ' ';
				memcpy(reason + len, argv[i], n + 1);
				len += n;
			}
		} else {
			return -EINVAL;
		}
	}
	if (!dev)
		return -ENODEV;
	r = shutdown_device_request(dev, action, force, timeout, reason);
	if (r < 0)
		return r;
	json_string(out, "action", argv[1]);
	return 0;
}

static int control_offer(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	const struct device_ops *ops;
	struct device *dev;
	int r;

	if (argc != 2)
		return -EINVAL;
	ops = devices_find(argv[1]);
	if (!ops)
		return -ENOENT;
	if (bus_find_device(&w->bus, argv[1]))
		return -EEXIST;
	r = bus_add_device(&w->bus, ops, &dev);
	if (r < 0)
		return r;
	log_info("%s: offered (channel %u)", ops->name, dev->primary->id);
	json_uint(out, "channel_id", dev->primary->id);
	return 0;
}

static int control_rescind(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	struct device *dev;

	(void)out;
	if (argc != 2)
		return -EINVAL;
	dev = bus_find_device(&w->bus, argv[1]);
	if (!dev)
		return -ENOENT;
	bus_remove_device(&w->bus, dev);
	log_info("%s: rescinded", argv[1]);
	return 0;
}

/*
 * disk-add PATH [readonly] [serial=S]: a synthetic disk offered at run
 * time, as the first free diskN. The definition is not changed.
 */
static int control_disk_add(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	struct storage_disk_config dc = { .path = argc > 1 ? argv[1] : NULL };
	char name[DEVICE_NAME_MAX];
	struct device *dev;
	unsigned int n;
	int i, r;

	if (argc < 2 || argv[1][0] != '/') {
		control_error = "wants an absolute path to a raw image";
		return -EINVAL;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "readonly") == 0)
			dc.readonly = true;
		else if (strncmp(argv[i], "serial=", 7) == 0)
			dc.serial = argv[i] + 7;
		else
			return -EINVAL;
	}
	for (n = 0; n < 64; n++) {
		snprintf(name, sizeof(name), "disk%u", n);
		if (!bus_find_device(&w->bus, name))
			break;
	}
	if (n == 64)
		return -ENOSPC;
	r = storage_disk_add(&w->bus, name, &dc, &dev);
	if (r < 0)
		return r;
	log_info("%s: %s%s added at run time (channel %u)", name, dc.path,
		 dc.readonly ? " (read-only)" : "", dev->primary->id);
	json_string(out, "disk", name);
	json_uint(out, "channel_id", dev->primary->id);
	return 0;
}

/* The event loop's polling: limit, window now and counters (worker_poll()). */
static void control_poll_object(struct worker *w, struct json_writer *out)
{
	json_object_begin(out, "poll");
	json_uint(out, "max_us", w->poll_max_ns / 1000);
	json_uint(out, "window_us", w->poll_ns / 1000);
	json_uint(out, "hits", w->poll_hits);
	json_uint(out, "sleeps_in_flight", w->poll_sleeps);
	json_object_begin(out, "guest");
	json_uint(out, "max_us", w->turn_max_ns / 1000);
	json_uint(out, "wait_us", w->turn_ns / 1000);
	json_uint(out, "window_us", w->turn_win_ns / 1000);
	json_uint(out, "hits", w->turn_hits);
	json_uint(out, "early", w->turn_early);
	json_uint(out, "misses", w->turn_misses);
	json_object_end(out);
	json_object_end(out);
}

/*
 * poll [MAX_US [GUEST_US]]: the event loop's polling limits, for I/O in
 * flight and for the guest's turn (OPENVMBUS_POLL_US, OPENVMBUS_POLL_GUEST_US
 * at start).
 */
static int control_poll(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	uint64_t max = w->poll_max_ns, guest = w->turn_max_ns;

	if (argc > 3)
		return -EINVAL;
	if ((argc >= 2 && worker_parse_poll_us(argv[1], &max) < 0) ||
	    (argc == 3 && worker_parse_poll_us(argv[2], &guest) < 0)) {
		control_error = "poll limit: 0 to 10000 microseconds";
		return -EINVAL;
	}
	if (argc >= 2) {
		w->poll_max_ns = max;
		w->turn_max_ns = guest;
		if (w->poll_ns > max)
			w->poll_ns = max;
		if (w->turn_win_ns > guest)
			w->turn_win_ns = guest;
		log_info("polling limit set to %llu us, for the guest's turn %llu us",
			 (unsigned long long)(max / 1000), (unsigned long long)(guest / 1000));
	}
	control_poll_object(w, out);
	return 0;
}

/* pause / resume: QMP stop / cont. The state changes when QEMU's event arrives. */
static int control_pause_resume(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	bool pause = strcmp(argv[0], "pause") == 0;
	int r;

	if (argc != 1)
		return -EINVAL;
	if (!w->qmp.ready) {
		control_error = "QEMU's monitor is not connected";
		return -ENOTCONN;
	}
	r = qmp_command(&w->qmp, pause ? "stop" : "cont", NULL, NULL, NULL);
	if (r < 0)
		return r;
	log_info("%s requested", pause ? "pause" : "resume");
	json_string(out, "requested", pause ? "pause" : "resume");
	return 0;
}

/* service NAME ARGS...: a request for one backend (its ops->command). */
static int control_service(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	struct device *dev;

	if (argc < 3)
		return -EINVAL;
	dev = bus_find_device(&w->bus, argv[1]);
	if (!dev) {
		control_error = devices_find(argv[1]) ? "the service is not enabled on this VM"
						      : "no such service";
		return -ENOENT;
	}
	if (!dev->ops->command) {
		control_error = "the service takes no requests";
		return -EOPNOTSUPP;
	}
	json_string(out, "service", argv[1]);
	return dev->ops->command(dev, argc - 2, argv + 2, out, &control_error);
}

/* backup-start DEST [no-quiesce] [incremental] [timeout=MS] [id=ID] [parent=ID] (docs/backup.md) */
static int control_backup_start(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	struct backup_options opt = { .quiesce = true };
	struct backup_env env = {
		.bus = &w->bus, .qmp = &w->qmp, .run_dir = w->run_dir,
		.qemu_disk = w->cfg.disk, .qemu_node = WORKER_QEMU_DISK_NODE,
	};
	int r;

	if (argc < 2)
		return -EINVAL;
	opt.dest = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "no-quiesce") == 0) {
			opt.quiesce = false;
		} else if (strcmp(argv[i], "incremental") == 0) {
			opt.incremental = true;
		} else if (strncmp(argv[i], "timeout=", 8) == 0) {
			char *end;
			unsigned long v = strtoul(argv[i] + 8, &end, 10);

			if (*end || v > UINT32_MAX)
				return -EINVAL;
			opt.timeout_ms = (uint32_t)v;
		} else if (strncmp(argv[i], "id=", 3) == 0) {
			opt.id = argv[i] + 3;
		} else if (strncmp(argv[i], "parent=", 7) == 0) {
			opt.parent = argv[i] + 7;
		} else {
			return -EINVAL;
		}
	}
	if (w->cfg.disk && !w->qmp.ready) {
		control_error = "QEMU's monitor is not connected (needed for the VM's QEMU disk)";
		return -ENOTCONN;
	}
	r = backup_job_start(&w->backup, &env, &opt, &control_error);
	if (r < 0)
		return r;
	backup_job_status(w->backup, out);
	return 0;
}

static int control_backup_status(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	(void)argv;
	if (argc != 1)
		return -EINVAL;
	backup_job_status(w->backup, out);
	return 0;
}

static int control_backup_cancel(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	int r;

	(void)argv;
	if (argc != 1)
		return -EINVAL;
	r = backup_job_cancel(w->backup);
	if (r == -ENOENT)
		control_error = "no backup is running";
	if (r < 0)
		return r;
	backup_job_status(w->backup, out);
	return 0;
}

static int control_help(struct worker *w, int argc, char **argv, struct json_writer *out)
{
	unsigned int i;

	(void)w, (void)argc, (void)argv;
	json_array_begin(out, "commands");
	for (i = 0; control_commands[i].name; i++) {
		json_object_begin(out, NULL);
		json_string(out, "name", control_commands[i].name);
		json_string(out, "help", control_commands[i].help);
		json_object_end(out);
	}
	json_array_end(out);
	return 0;
}

static const struct control_command control_commands[] = {
	{ "status", control_status, "VM, bus and service state" },
	{ "channels", control_channels, "every channel: class, state, target CPU, counters" },
	{ "stop", control_stop,
	  "stop [--force | --no-kill] [--timeout=S]: ACPI power-down, killed after S seconds" },
	{ "shutdown", control_shutdown,
	  "shutdown poweroff|reboot [--force] [--timeout=S] [--reason TEXT]: ask the guest's service" },
	{ "disk-add", control_disk_add,
	  "disk-add PATH [readonly] [serial=S]: offer a raw image as the next synthetic disk" },
	{ "poll", control_poll, "poll [MAX_US]: show or set the event loop's polling limit" },
	{ "pause", control_pause_resume, "pause the VM's vCPUs (QMP stop)" },
	{ "resume", control_pause_resume, "let a paused VM run again (QMP cont)" },
	{ "offer", control_offer, "offer NAME: hot-add a device of class NAME" },
	{ "rescind", control_rescind, "rescind NAME: hot-remove the device of class NAME" },
	{ "service", control_service, "service NAME ARGS...: a request for one service's backend" },
	{ "backup-start", control_backup_start,
	  "backup-start DEST [no-quiesce] [incremental] [timeout=MS] [id=ID] [parent=ID]: a live backup" },
	{ "backup-status", control_backup_status, "the running or last backup" },
	{ "backup-cancel", control_backup_cancel, "stop the running backup" },
	{ "help", control_help, "this list" },
	{ NULL, NULL, NULL },
};

int control_listen(struct worker *w)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (worker_run_path(w, "control.sock", addr.sun_path, sizeof(addr.sun_path)) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(addr.sun_path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(addr.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	w->control_fd = fd;
	return 0;
}

/*
 * Undo the %XX escapes vmbusctl puts on arguments (so one argument can hold
 * spaces or any byte but NUL). Returns -EINVAL for a bad escape or %00.
 */
static int control_unescape(char *arg)
{
	char *in = arg, *out = arg;

	while (*in) {
		if (*in != '%') {
			*out++ = *in++;
			continue;
		}
		if (!isxdigit((unsigned char)in[1]) || !isxdigit((unsigned char)in[2]))
			return -EINVAL;
		{
			char hex[3] = { in[1], in[2], 0 };
			unsigned long v = strtoul(hex, NULL, 16);

			if (!v)
				return -EINVAL;
			*out++ = (char)v;
		}
		in += 3;
	}
	*out = '\0';
	return 0;
}

static void control_reply(int fd, struct json_writer *out)
{
	const char *text = json_writer_text(out);
	struct timeval tv = { .tv_sec = CONTROL_REPLY_TIMEOUT_S };
	size_t len, off = 0;
	int flags;

	if (!text)
		text = "{\"ok\":false,\"error\":\"out of memory\"}";
	len = strlen(text);
	/*
	 * The client is reading by now: write the reply blocking (a status can
	 * outgrow the socket's buffer), but not for ever.
	 */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warning("control: the client did not take its reply (%s)",
				    n < 0 ? strerror(errno) : "closed");
			return;
		}
		off += (size_t)n;
	}
	if (send(fd, "\n", 1, MSG_NOSIGNAL) < 0)
		log_debug("control: client went away before the reply");
}

/* Run one request (the connection's buffer, NUL-terminated) and reply. */
static void control_run(struct worker *w, int fd, char *req, const char *refused)
{
	char *argv[CONTROL_MAX_ARGS], *save = NULL, *tok;
	struct json_writer out;
	int argc = 0, r = -EINVAL;
	unsigned int i;

	req[strcspn(req, "\r\n")] = '\0';
	for (tok = strtok_r(req, " \t", &save); tok && argc < CONTROL_MAX_ARGS;
	     tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	control_error = refused;
	for (i = 0; !refused && i < (unsigned int)argc; i++)
		if (control_unescape(argv[i]) < 0)
			control_error = "bad %-escape in the request";

	json_writer_init(&out);
	json_object_begin(&out, NULL);
	for (i = 0; argc && !control_error && control_commands[i].name; i++) {
		if (strcmp(control_commands[i].name, argv[0]) == 0) {
			json_bool(&out, "ok", true);
			r = control_commands[i].fn(w, argc, argv, &out);
			break;
		}
	}
	if (r < 0) {
		char msg[600];

		json_writer_free(&out);
		json_writer_init(&out);
		json_object_begin(&out, NULL);
		json_bool(&out, "ok", false);
		if (control_error)
			snprintf(msg, sizeof(msg), "%s%s%s", argc && !refused ? argv[0] : "",
				 argc && !refused ? ": " : "", control_error);
		else if (!argc || !control_commands[i].name)
			snprintf(msg, sizeof(msg), "unknown command '%s' (try 'help')",
				 argc ? argv[0] : "");
		else
			snprintf(msg, sizeof(msg), "%s: %s", argv[0], strerror(-r));
		json_string(&out, "error", msg);
	}
	json_object_end(&out);
	control_reply(fd, &out);
	json_writer_free(&out);
}

/*
 * A client's connection. Requests are read as they arrive, in the event
 * loop like everything else: a client slow to write its request (a
 * loaded host) is waited for, and meanwhile the guest's I/O and other
 * clients are served. One that sends no whole request within
 * CONTROL_IDLE_TIMEOUT_S is dropped (control_tick()).
 */
struct control_conn {
	struct worker *w;
	int fd;
	size_t len;
	double since;
	struct control_conn *next;
	char buf[CONTROL_MAX_REQUEST + 1];
};

static void control_conn_close(struct control_conn *c)
{
	struct worker *w = c->w;

	for (struct control_conn **pp = &w->control_conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	w->loop.unwatch(w->loop.loop, c->fd);
	close(c->fd);
	free(c);
}

static void control_conn_input(void *arg)
{
	struct control_conn *c = arg;
	const char *refused = NULL;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, c->buf + c->len, CONTROL_MAX_REQUEST - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;	/* the rest of the line comes later */
		if (n < 0) {
			log_warning("control: cannot read a request: %m");
			control_conn_close(c);
			return;
		}
		if (n == 0) {
			/* The client ended its side: what it sent is the request. */
			if (!c->len) {
				control_conn_close(c);
				return;
			}
			break;
		}
		c->len += (size_t)n;
		if (memchr(c->buf + c->len - (size_t)n, '\n', (size_t)n))
			break;
		if (c->len == CONTROL_MAX_REQUEST) {
			log_warning("control: a request longer than %d bytes refused",
				    CONTROL_MAX_REQUEST);
			refused = "the request is longer than " STRINGIFY(CONTROL_MAX_REQUEST) " bytes";
			break;
		}
	}
	c->buf[c->len] = '\0';
	control_run(c->w, c->fd, c->buf, refused);
	/*
	 * Closing with bytes unread would reset the connection, and the
	 * client would lose the reply: read what is left of a refused
	 * request first (what arrives later finds the connection closed).
	 */
	for (size_t drained = 0; refused && drained < (1u << 20);) {
		n = recv(c->fd, c->buf, CONTROL_MAX_REQUEST, MSG_DONTWAIT);
		if (n <= 0)
			break;
		drained += (size_t)n;
	}
	control_conn_close(c);
}

/* The listening socket is readable: take every waiting client. */
void control_handle_connection(struct worker *w)
{
	for (;;) {
		struct control_conn *c;
		unsigned int waiting = 0;
		int fd = accept4(w->control_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warning("control: cannot accept a client: %m");
			return;
		}
		for (c = w->control_conns; c; c = c->next)
			waiting++;
		if (waiting >= CONTROL_MAX_CONNS) {
			char none[1] = "";

			log_warning("control: %u clients are waiting to send their requests: one more refused",
				    waiting);
			control_run(w, fd, none,
				    "busy: " STRINGIFY(CONTROL_MAX_CONNS) " other clients are connected");
			close(fd);
			continue;
		}
		c = malloc(sizeof(*c));
		if (!c || w->loop.watch(w->loop.loop, fd, control_conn_input, NULL, c) < 0) {
			log_warning("control: cannot serve a client: out of memory");
			free(c);
			close(fd);
			continue;
		}
		*c = (struct control_conn){ .w = w, .fd = fd, .since = devices_now(),
					    .next = w->control_conns };
		w->control_conns = c;
		/* Most clients have written their request already. */
		control_conn_input(c);
	}
}

/* From the worker's tick: drop clients that sent no request in time. */
void control_tick(struct worker *w)
{
	double now = devices_now();
	struct control_conn *c, *next;

	for (c = w->control_conns; c; c = next) {
		next = c->next;
		if (now - c->since < CONTROL_IDLE_TIMEOUT_S)
			continue;
		log_warning("control: a client sent no whole request in %d s: dropped",
			    CONTROL_IDLE_TIMEOUT_S);
		control_conn_close(c);
	}
}

/* At the worker's end. */
void control_close_all(struct worker *w)
{
	while (w->control_conns)
		control_conn_close(w->control_conns);
}
