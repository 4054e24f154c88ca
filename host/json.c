// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * json.c - see json.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/json.h"

#define JSON_MAX_DEPTH 32
#define JSON_MAX_NODES 100000

/* ------------------------------------------------------------------ writer */

void json_writer_init(struct json_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->first = 1;
}

void json_writer_free(struct json_writer *w)
{
	free(w->buf);
	w->buf = NULL;
}

static void jw_append(struct json_writer *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		char *p;

		while (cap < w->len + n + 1)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p) {
			w->failed = true;
			return;
		}
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void jw_printf(struct json_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jw_printf(struct json_writer *w, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		jw_append(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void jw_quoted(struct json_writer *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	jw_append(w, "\"", 1);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char esc[2] = { '\\', (char)*p };

			jw_append(w, esc, 2);
		} else if (*p < 0x20) {
			jw_printf(w, "\\u%04x", *p);
		} else {
			jw_append(w, (const char *)p, 1);
		}
	}
	jw_append(w, "\"", 1);
}

/* Comma and key before a new element. */
static void jw_element(struct json_writer *w, const char *key)
{
	uint64_t bit = 1ULL << (w->depth & 63);

	if (!(w->first & bit))
		jw_append(w, ",", 1);
	w->first &= ~bit;
	if (key) {
		jw_quoted(w, key);
		jw_append(w, ":", 1);
	}
}

static void jw_open(struct json_writer *w, const char *key, const char *c)
{
	jw_element(w, key);
	jw_append(w, c, 1);
	w->depth++;
	w->first |= 1ULL << (w->depth & 63);
}

static void jw_close(struct json_writer *w, const char *c)
{
	if (w->depth)
		w->depth--;
	jw_append(w, c, 1);
}

void json_object_begin(struct json_writer *w, const char *key) { jw_open(w, key, "{"); }
void json_object_end(struct json_writer *w) { jw_close(w, "}"); }
void json_array_begin(struct json_writer *w, const char *key) { jw_open(w, key, "["); }
void json_array_end(struct json_writer *w) { jw_close(w, "]"); }

void json_string(struct json_writer *w, const char *key, const char *value)
{
	jw_element(w, key);
	if (value)
		jw_quoted(w, value);
	else
		jw_append(w, "null", 4);
}

void json_int(struct json_writer *w, const char *key, int64_t value)
{
	jw_element(w, key);
	jw_printf(w, "%" PRId64, value);
}

void json_uint(struct json_writer *w, const char *key, uint64_t value)
{
	jw_element(w, key);
	jw_printf(w, "%" PRIu64, value);
}

void json_double(struct json_writer *w, const char *key, double value)
{
	jw_element(w, key);
	jw_printf(w, "%.3f", value);
}

void json_bool(struct json_writer *w, const char *key, bool value)
{
	jw_element(w, key);
	jw_append(w, value ? "true" : "false", value ? 4 : 5);
}

void json_null(struct json_writer *w, const char *key)
{
	jw_element(w, key);
	jw_append(w, "null", 4);
}

const char *json_writer_text(struct json_writer *w)
{
	if (w->failed)
		return NULL;
	return w->buf ? w->buf : "";
}

/* ------------------------------------------------------------------ reader */

struct jr {
	const char *p, *end;
	unsigned int nodes;
};

static void jr_space(struct jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int jr_hex4(struct jr *r, unsigned int *ret)
{
	unsigned int v = 0, i;

	if (r->end - r->p < 4)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		char c = *r->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int jr_string(struct jr *r, char **ret)
{
	size_t cap = 16, n = 0;
	char *s, *t;

	if (r->p >= r->end || *r->p != '"')
		return -EINVAL;
	r->p++;
	s = malloc(cap);
	if (!s)
		return -ENOMEM;
	for (;;) {
		unsigned int cp;
		char c;

		if (r->p >= r->end)
			goto bad;
		c = *r->p++;
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20)
			goto bad;
		if (n + 5 > cap) {
			cap *= 2;
			t = realloc(s, cap);
			if (!t)
				goto bad;
			s = t;
		}
		if (c != '\\') {
			s[n++] = c;
			continue;
		}
		if (r->p >= r->end)
			goto bad;
		c = *r->p++;
		switch (c) {
		case '"': case '\\': case '/': s[n++] = c; break;
		case 'b': s[n++] = '\b'; break;
		case 'f': s[n++] = '\f'; break;
		case 'n': s[n++] = '\n'; break;
		case 'r': s[n++] = '\r'; break;
		case 't': s[n++] = '\t'; break;
		case 'u':
			if (jr_hex4(r, &cp) < 0 || cp == 0)
				goto bad;
			/* Basic multilingual plane only; surrogates become U+FFFD. */
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			if (cp < 0x80) {
				s[n++] = (char)cp;
			} else if (cp < 0x800) {
				s[n++] = (char)(0xc0 | (cp >> 6));
				s[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				s[n++] = (char)(0xe0 | (cp >> 12));
				s[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				s[n++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		default:
			goto bad;
		}
	}
	s[n] = '\0';
	*ret = s;
	return 0;
bad:
	free(s);
	return -EINVAL;
}

static int jr_value(struct jr *r, unsigned int depth, struct json_value **ret);

static int jr_container(struct jr *r, unsigned int depth, struct json_value *v, char close)
{
	struct json_value **tail = &v->child;
	int ret;

	r->p++;
	jr_space(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		struct json_value *item;
		char *key = NULL;

		jr_space(r);
		if (close == '}') {
			ret = jr_string(r, &key);
			if (ret < 0)
				return ret;
			jr_space(r);
			if (r->p >= r->end || *r->p != ':') {
				free(key);
				return -EINVAL;
			}
			r->p++;
		}
		ret = jr_value(r, depth + 1, &item);
		if (ret < 0) {
			free(key);
			return ret;
		}
		item->key = key;
		*tail = item;
		tail = &item->next;
		jr_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 0;
		}
		return -EINVAL;
	}
}

static int jr_literal(struct jr *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return -EINVAL;
	r->p += n;
	return 0;
}

static int jr_value(struct jr *r, unsigned int depth, struct json_value **ret)
{
	struct json_value *v;
	int rc = 0;

	if (depth > JSON_MAX_DEPTH || ++r->nodes > JSON_MAX_NODES)
		return -EINVAL;
	jr_space(r);
	if (r->p >= r->end)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	switch (*r->p) {
	case '{':
		v->type = JSON_OBJECT;
		rc = jr_container(r, depth, v, '}');
		break;
	case '[':
		v->type = JSON_ARRAY;
		rc = jr_container(r, depth, v, ']');
		break;
	case '"':
		v->type = JSON_STRING;
		rc = jr_string(r, &v->string);
		break;
	case 't':
		v->type = JSON_BOOL;
		v->boolean = true;
		rc = jr_literal(r, "true");
		break;
	case 'f':
		v->type = JSON_BOOL;
		rc = jr_literal(r, "false");
		break;
	case 'n':
		v->type = JSON_NULL;
		rc = jr_literal(r, "null");
		break;
	default: {
		char buf[64], *endp;
		size_t n = 0;

		while (r->p + n < r->end && n < sizeof(buf) - 1 &&
		       strchr("0123456789+-.eE", r->p[n]))
			n++;
		memcpy(buf, r->p, n);
		buf[n] = '\0';
		v->type = JSON_NUMBER;
		v->number = strtod(buf, &endp);
		if (n == 0 || endp != buf + n)
			rc = -EINVAL;
		r->p += n;
	}
	}
	if (rc < 0) {
		json_value_free(v);
		return rc;
	}
	*ret = v;
	return 0;
}

int json_parse(const char *text, size_t len, struct json_value **ret)
{
	struct jr r = { text, text + len, 0 };
	struct json_value *v;
	int rc;

	rc = jr_value(&r, 0, &v);
	if (rc < 0)
		return rc;
	jr_space(&r);
	if (r.p != r.end) {
		json_value_free(v);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

void json_value_free(struct json_value *v)
{
	while (v) {
		struct json_value *next = v->next;

		json_value_free(v->child);
		free(v->string);
		free(v->key);
		free(v);
		v = next;
	}
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	const struct json_value *m;

	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (m = obj->child; m; m = m->next)
		if (m->key && strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

const char *json_get_string(const struct json_value *obj, const char *key)
{
	const struct json_value *m = json_get(obj, key);

	return m && m->type == JSON_STRING ? m->string : NULL;
}

double json_get_number(const struct json_value *obj, const char *key, double def)
{
	const struct json_value *m = json_get(obj, key);

	return m && m->type == JSON_NUMBER ? m->number : def;
}

bool json_get_bool(const struct json_value *obj, const char *key, bool def)
{
	const struct json_value *m = json_get(obj, key);

	return m && m->type == JSON_BOOL ? m->boolean : def;
}
