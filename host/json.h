/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * json.h - a small JSON writer (status replies, --json output) and reader
 * (QMP replies and events, worker replies in vmbusctl). The reader builds a
 * tree with hard limits on depth, size and element count.
 */
#ifndef HOST_JSON_H
#define HOST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_writer {
	char *buf;
	size_t len, cap;
	unsigned int depth;
	uint64_t first;		/* bit per depth: no element written yet */
	bool failed;		/* out of memory */
};

void json_writer_init(struct json_writer *w);
void json_writer_free(struct json_writer *w);
/* key is NULL inside arrays and at the top level. */
void json_object_begin(struct json_writer *w, const char *key);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w, const char *key);
void json_array_end(struct json_writer *w);
void json_string(struct json_writer *w, const char *key, const char *value);
void json_int(struct json_writer *w, const char *key, int64_t value);
void json_uint(struct json_writer *w, const char *key, uint64_t value);
void json_double(struct json_writer *w, const char *key, double value);
void json_bool(struct json_writer *w, const char *key, bool value);
void json_null(struct json_writer *w, const char *key);
/* The text so far (NUL-terminated), or NULL if an allocation failed. */
const char *json_writer_text(struct json_writer *w);

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value {
	enum json_type type;
	bool boolean;
	double number;
	char *string;			/* JSON_STRING */
	char *key;			/* set for members of an object */
	struct json_value *child;	/* first element / member */
	struct json_value *next;	/* next sibling */
};

/* Parse a whole document; -EINVAL on syntax errors or limits exceeded. */
int json_parse(const char *text, size_t len, struct json_value **ret);
void json_value_free(struct json_value *v);
/* Member of an object, or NULL. */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* Member as a string / number; NULL / def when absent or of another type. */
const char *json_get_string(const struct json_value *obj, const char *key);
double json_get_number(const struct json_value *obj, const char *key, double def);
bool json_get_bool(const struct json_value *obj, const char *key, bool def);

#endif
