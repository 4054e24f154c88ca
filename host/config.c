// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * config.c - VM definition files (see config.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/config.h"

void config_init(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->memory = 512ULL << 20;
	c->cpus = 1;
	strcpy(c->accel, "auto");
}

void config_free(struct vm_config *c)
{
	unsigned int i;

	free(c->kernel);
	free(c->initrd);
	free(c->append);
	free(c->disk);
	free(c->qemu_args);
	for (i = 0; i < c->nservices; i++)
		free(c->services[i]);
	for (i = 0; i < c->ndisks; i++)
		free(c->disks[i].path);
	c->ndisks = 0;
	config_init(c);
}

bool config_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= CONFIG_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

int config_parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;
	unsigned int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case '\0': break;
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	default: return -EINVAL;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*ret = (uint64_t)v << shift;
	return 0;
}

bool config_has_service(const struct vm_config *c, const char *name)
{
	unsigned int i;

	for (i = 0; i < c->nservices; i++)
		if (strcmp(c->services[i], name) == 0)
			return true;
	return false;
}

int config_set_service(struct vm_config *c, const char *name, bool enabled)
{
	unsigned int i;

	for (i = 0; i < c->nservices; i++) {
		if (strcmp(c->services[i], name) == 0) {
			if (!enabled) {
				free(c->services[i]);
				c->services[i] = c->services[--c->nservices];
			}
			return 0;
		}
	}
	if (!enabled)
		return 0;
	if (c->nservices >= CONFIG_MAX_SERVICES)
		return -E2BIG;
	c->services[c->nservices] = strdup(name);
	if (!c->services[c->nservices])
		return -ENOMEM;
	c->nservices++;
	return 0;
}

static char *config_strip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int config_set_string(char **field, const char *value)
{
	char *dup = strdup(value);

	if (!dup)
		return -ENOMEM;
	free(*field);
	*field = dup;
	return 0;
}

int config_parse_disk(const char *spec, struct config_disk *ret)
{
	char *dup = strdup(spec), *save = NULL, *tok;
	struct config_disk d = { .readonly = false };

	if (!dup)
		return -ENOMEM;
	tok = strtok_r(dup, ",", &save);
	if (!tok || tok[0] != '/')
		goto invalid;
	d.path = strdup(tok);
	if (!d.path) {
		free(dup);
		return -ENOMEM;
	}
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (strcmp(tok, "readonly") == 0) {
			d.readonly = true;
		} else if (strncmp(tok, "serial=", 7) == 0) {
			size_t n = strlen(tok + 7);

			if (n < 1 || n > CONFIG_SERIAL_MAX)
				goto invalid;
			for (size_t i = 0; i < n; i++)
				if (tok[7 + i] < 0x21 || tok[7 + i] > 0x7e)
					goto invalid;
			memcpy(d.serial, tok + 7, n + 1);
		} else {
			goto invalid;
		}
	}
	free(dup);
	*ret = d;
	return 0;
invalid:
	free(d.path);
	free(dup);
	return -EINVAL;
}

static int config_apply(struct vm_config *c, const char *section, const char *key, char *value)
{
	if (strcmp(section, "VM") == 0) {
		if (strcmp(key, "Name") == 0) {
			if (!config_name_valid(value))
				return -EINVAL;
			strcpy(c->name, value);
			return 0;
		}
		if (strcmp(key, "Memory") == 0)
			return config_parse_size(value, &c->memory);
		if (strcmp(key, "CPUs") == 0) {
			char *end;
			unsigned long n = strtoul(value, &end, 10);

			if (*end || n < 1 || n > 64)
				return -EINVAL;
			c->cpus = (unsigned int)n;
			return 0;
		}
		if (strcmp(key, "Kernel") == 0)
			return config_set_string(&c->kernel, value);
		if (strcmp(key, "Initrd") == 0)
			return config_set_string(&c->initrd, value);
		if (strcmp(key, "Append") == 0)
			return config_set_string(&c->append, value);
		if (strcmp(key, "Disk") == 0)
			return config_set_string(&c->disk, value);
		if (strcmp(key, "QemuArgs") == 0)
			return config_set_string(&c->qemu_args, value);
		if (strcmp(key, "Accel") == 0) {
			if (strcmp(value, "auto") && strcmp(value, "kvm") && strcmp(value, "tcg"))
				return -EINVAL;
			strcpy(c->accel, value);
			return 0;
		}
	} else if (strcmp(section, "Integration") == 0 && strcmp(key, "Services") == 0) {
		char *save = NULL, *tok;
		int r;

		while (c->nservices)
			free(c->services[--c->nservices]);
		for (tok = strtok_r(value, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
			r = config_set_service(c, tok, true);
			if (r < 0)
				return r;
		}
		return 0;
	} else if (strcmp(section, "Storage") == 0 && strcmp(key, "Disk") == 0) {
		int r;

		if (c->ndisks >= CONFIG_MAX_DISKS)
			return -E2BIG;
		r = config_parse_disk(value, &c->disks[c->ndisks]);
		if (r < 0)
			return r;
		c->ndisks++;
		return 0;
	}
	return -ENOENT;
}

int config_load(struct vm_config *c, const char *path, unsigned int *ret_line)
{
	char section[32] = "", *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *s = config_strip(line), *eq;

		lineno++;
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end || end[1] || (size_t)(end - s - 1) >= sizeof(section)) {
				r = -EINVAL;
				break;
			}
			memcpy(section, s + 1, (size_t)(end - s - 1));
			section[end - s - 1] = '\0';
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		r = config_apply(c, section, config_strip(s), config_strip(eq + 1));
		if (r < 0)
			break;
	}
	free(line);
	fclose(f);
	if (r < 0 && ret_line)
		*ret_line = lineno;
	if (r == 0 && !c->name[0])
		r = -EINVAL;
	return r;
}

int config_save(const struct vm_config *c, const char *path)
{
	char tmp[4096];
	unsigned int i;
	FILE *f;
	int r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "# openvmbus VM definition (edit with care; see vmbusctl(8))\n[VM]\n");
	fprintf(f, "Name=%s\nMemory=%lluM\nCPUs=%u\nAccel=%s\n", c->name,
		(unsigned long long)(c->memory >> 20), c->cpus, c->accel);
	if (c->kernel)
		fprintf(f, "Kernel=%s\n", c->kernel);
	if (c->initrd)
		fprintf(f, "Initrd=%s\n", c->initrd);
	if (c->append)
		fprintf(f, "Append=%s\n", c->append);
	if (c->disk)
		fprintf(f, "Disk=%s\n", c->disk);
	if (c->qemu_args)
		fprintf(f, "QemuArgs=%s\n", c->qemu_args);
	fprintf(f, "\n[Integration]\nServices=");
	for (i = 0; i < c->nservices; i++)
		fprintf(f, "%s%s", i ? " " : "", c->services[i]);
	fprintf(f, "\n");
	if (c->ndisks)
		fprintf(f, "\n[Storage]\n");
	for (i = 0; i < c->ndisks; i++)
		fprintf(f, "Disk=%s%s%s%s\n", c->disks[i].path, c->disks[i].readonly ? ",readonly" : "",
			c->disks[i].serial[0] ? ",serial=" : "", c->disks[i].serial);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		r = -errno;
		fclose(f);
		unlink(tmp);
		return r;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}
