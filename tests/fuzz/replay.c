// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * replay.c - main() for replaying a fuzz corpus without libFuzzer.
 *
 *   replay_NAME PATH...
 *
 * Each PATH is a file, or a directory whose regular files are all replayed
 * in name order. Every input is copied into a heap buffer of exactly its
 * size (so a sanitizer build catches over-reads) and passed to
 * LLVMFuzzerTestOneInput(). Exits 0 after replaying everything, 1 if a PATH
 * is missing or unreadable, a directory holds no input (an empty corpus must
 * not pass silently), or no PATH was given. If a harness crashes, the input
 * being replayed is named on stderr.
 */
#define _GNU_SOURCE	/* asprintf */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

/* Set by the sanitizer runtime when there is one (weak: absent otherwise). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static const char *current_input;

static void say_current_input(void)
{
	static const char msg[] = "replay: crashed while replaying ";
	const char *p = current_input;

	if (!p)
		return;
	/* async-signal-safe: write(2) only */
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0 ||
	    write(STDERR_FILENO, p, strlen(p)) < 0 ||
	    write(STDERR_FILENO, "\n", 1) < 0)
		return;
}

static void on_fatal_signal(int sig)
{
	say_current_input();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int replay_file(const char *path, unsigned long *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *nbuf;

			cap = cap ? cap * 2 : 4096;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				fprintf(stderr, "replay: %s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);

	/* Exact-size copy: one byte past the input is outside the allocation. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			fprintf(stderr, "replay: %s: out of memory\n", path);
			free(buf);
			return -1;
		}
		if (len)
			memcpy(exact, buf, len);
		free(buf);
		current_input = path;
		LLVMFuzzerTestOneInput(exact, len);
		current_input = NULL;
		free(exact);
	}
	(*count)++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **paths = NULL;
	size_t n = 0, cap = 0, i;
	unsigned long before = *count;
	int ret = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char *path;

		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (asprintf(&path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			     de->d_name) < 0) {
			ret = -1;
			break;
		}
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			char **np;

			cap = cap ? cap * 2 : 64;
			np = realloc(paths, cap * sizeof(*paths));
			if (!np) {
				free(path);
				ret = -1;
				break;
			}
			paths = np;
		}
		paths[n++] = path;
	}
	closedir(d);
	if (ret == 0 && n)
		qsort(paths, n, sizeof(*paths), cmp_names);
	for (i = 0; i < n; i++) {
		if (ret == 0 && replay_file(paths[i], count) < 0)
			ret = -1;
		free(paths[i]);
	}
	free(paths);
	if (ret < 0) {
		fprintf(stderr, "replay: %s: cannot list or read the directory\n", dir);
		return -1;
	}
	if (*count == before) {
		fprintf(stderr, "replay: %s: no inputs (an empty corpus is an error)\n", dir);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int i, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
		return 1;
	}
	/* Name the input that crashed: abort() from a harness check, a
	 * sanitizer report, or (without sanitizers) a fatal signal. */
	signal(SIGABRT, on_fatal_signal);
	if (__sanitizer_set_death_callback) {
		/* The sanitizer handles SEGV & co. itself; keep its handlers. */
		__sanitizer_set_death_callback(say_current_input);
	} else {
		signal(SIGSEGV, on_fatal_signal);
		signal(SIGBUS, on_fatal_signal);
		signal(SIGFPE, on_fatal_signal);
		signal(SIGILL, on_fatal_signal);
	}

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) < 0
					: replay_file(argv[i], &count) < 0)
			failed = 1;
	}
	printf("replay: %lu input%s replayed\n", count, count == 1 ? "" : "s");
	return failed;
}
