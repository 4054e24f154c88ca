// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * console.c - `vmbusctl console`: relay between the terminal (or a pipe)
 * and the VM's serial console, which QEMU serves on run/console.sock.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"

#define CONSOLE_ESCAPE		0x1d	/* Ctrl-] */
#define CONSOLE_LINGER_MS	1000	/* output still shown after EOF on a piped stdin */
#define CONSOLE_HISTORY_LINES	10

static const char console_help[] =
	"Usage: vmbusctl console NAME [--lines N]\n"
	"Attach to a running VM's serial console.\n\n"
	"On a terminal: raw mode; Ctrl-] detaches. Otherwise standard input is sent\n"
	"until it ends, then the console's output is shown for one more second, so\n"
	"scripts can pipe commands in:  echo 'uname -a' | vmbusctl console NAME\n\n"
	"  --lines N   first show the last N lines the console printed before\n"
	"              (default 10; 0 shows only what comes after attaching)\n";

enum { OPT_LINES = CTL_OPT_FIRST_PRIVATE };

static const struct option console_options[] = {
	{ "lines", required_argument, NULL, OPT_LINES },
	CTL_COMMON_OPTIONS
};

struct console_tty {
	struct termios saved;
	bool raw;
};

static volatile sig_atomic_t console_signalled;

static void console_on_signal(int sig)
{
	console_signalled = sig;
}

static void console_tty_restore(struct console_tty *t)
{
	if (!t->raw)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
	t->raw = false;
	fputs("\n", stdout);
	fflush(stdout);
}

static int console_tty_raw(struct console_tty *t)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return ctl_error_errno(-errno, "cannot read the terminal settings: %m");
	raw = t->saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return ctl_error_errno(-errno, "cannot put the terminal in raw mode: %m");
	t->raw = true;
	return 0;
}

static int console_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = fd == STDOUT_FILENO ? write(fd, buf, len) : send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The last lines of run/console.log: what the guest printed before we attached. */
static void console_history(const struct vm *vm, unsigned int lines)
{
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX];
	size_t len;

	if (lines && vm_run_path(vm, "console.log", path, sizeof(path)) == 0 &&
	    output_file_tail(path, lines, &text, &len) == 0)
		console_write_all(STDOUT_FILENO, text, len);
}

static int console_connect(const struct vm *vm)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct vm_probe p;
	int fd, r;

	if (vm_run_path(vm, "console.sock", addr.sun_path, sizeof(addr.sun_path)) < 0)
		return ctl_error_errno(-ENAMETOOLONG, "%s: the run directory path is too long", vm->name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctl_error_errno(-errno, "cannot create a socket: %m");
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	r = -errno;
	close(fd);
	vm_probe(vm, &p);
	vm_probe_done(&p);
	if (p.state != VM_RUNNING)
		return vm_not_running_error(vm, &p);
	return ctl_error_errno(r, "%s: cannot connect to %s: %m", vm->name, addr.sun_path);
}

/*
 * Relay until Ctrl-] (terminal), EOF on stdin plus the linger time (pipe),
 * the console closing, or a signal.
 */
static int console_relay(const struct vm *vm, int sock, bool tty)
{
	struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
				 { .fd = sock, .events = POLLIN } };
	double linger_until = 0;
	sigset_t blocked, during_poll;
	char buf[4096];
	int r;

	sigemptyset(&blocked);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGHUP);
	sigprocmask(SIG_BLOCK, &blocked, &during_poll);
	sigdelset(&during_poll, SIGINT);
	sigdelset(&during_poll, SIGTERM);
	sigdelset(&during_poll, SIGHUP);

	while (!console_signalled) {
		struct timespec timeout, *tp = NULL;
		ssize_t n;

		if (linger_until) {
			double left = linger_until - ctl_now();

			if (left <= 0)
				return 0;
			timeout.tv_sec = (time_t)left;
			timeout.tv_nsec = (long)((left - (double)timeout.tv_sec) * 1e9);
			tp = &timeout;
		}
		/* Signals are let in only while waiting, so none is lost between checks. */
		if (ppoll(fds, 2, tp, &during_poll) < 0) {
			if (errno == EINTR)
				continue;
			return ctl_error_errno(-errno, "poll failed: %m");
		}
		if (fds[1].revents) {
			n = recv(sock, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (tty)
					return 0;
				ctl_message("%s: the console closed (the VM stopped?)", vm->name);
				return 0;
			}
			if (console_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				return 0;	/* whoever read our output is gone */
		}
		if (fds[0].revents) {
			char *escape;

			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (tty)
					return 0;
				fds[0].fd = -1;
				linger_until = ctl_now() + CONSOLE_LINGER_MS / 1000.0;
				continue;
			}
			escape = tty ? memchr(buf, CONSOLE_ESCAPE, (size_t)n) : NULL;
			r = console_write_all(sock, buf, escape ? (size_t)(escape - buf) : (size_t)n);
			if (r < 0)
				return ctl_error_errno(r, "%s: cannot write to the console: %m", vm->name);
			if (escape)
				return 0;
		}
	}
	return 0;
}

int cmd_console(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_(console_tty_restore) struct console_tty tty = { .raw = false };
	_cleanup_close_ int sock = -1;
	struct sigaction sa = { .sa_handler = console_on_signal };
	unsigned long lines = CONSOLE_HISTORY_LINES;
	bool is_tty = isatty(STDIN_FILENO);
	char *end;
	int c, r;

	while ((c = ctl_getopt(argc, argv, console_options)) != -1) {
		switch (c) {
		case OPT_LINES:
			errno = 0;
			lines = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || lines > 100000)
				return ctl_usage_error("console", "--lines wants a number of lines, not '%s'",
						       optarg);
			break;
		default: return ctl_option_default(c, console_help);
		}
	}
	r = vm_open_argument(&vm, argc, argv);
	if (r < 0)
		return r;
	sock = console_connect(&vm);
	if (sock < 0)
		return sock;

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (is_tty) {
		fprintf(stderr, "Connected to the console of %s; Ctrl-] detaches.\n", vm.name);
		r = console_tty_raw(&tty);
		if (r < 0)
			return r;
	}
	console_history(&vm, (unsigned int)lines);
	return console_relay(&vm, sock, is_tty);
}
