// SPDX-License-Identifier: GPL-2.0-only
/* The one logger. Messages start lowercase and name the object and errno text. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

static int log_level = LOG_LEVEL_WARN;
static int log_is_json;

static const char *const level_names[] = {"warn", "info", "debug", "trace"};

/* See log.h. */
void log_set_level(int level)
{
	log_level = level;
}

/* See log.h. */
int log_get_level(void)
{
	return log_level;
}

/* See log.h. */
void log_set_json(int is_json)
{
	log_is_json = is_json;
}

static void print_json_string(const char *s)
{
	fputc('"', stderr);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20)
			fprintf(stderr, "\\u%04x", c);
		else
			fputc(c, stderr);
	}
	fputc('"', stderr);
}

static void vprint(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	size_t len;

	if ((int)level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	if (!log_is_json) {
		fprintf(stderr, "bpfmesh: %s\n", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "{\"ts\":%lld.%03ld,\"level\":\"%s\",\"msg\":", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, level_names[level]);
	print_json_string(line);
	fputs("}\n", stderr);
}

/* See log.h. */
void log_print(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN   ? LOG_LEVEL_INFO
			      : level == LIBBPF_INFO ? LOG_LEVEL_DEBUG
						     : LOG_LEVEL_LIBBPF;

	vprint(ours, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBXDP_WARN   ? LOG_LEVEL_INFO
			      : level == LIBXDP_INFO ? LOG_LEVEL_DEBUG
						     : LOG_LEVEL_LIBBPF;

	vprint(ours, fmt, ap);
	return 0;
}

/* See log.h. */
void log_hook_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
