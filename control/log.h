/* SPDX-License-Identifier: GPL-2.0-only */
/* The one logger: leveled, printf-style, stderr only, text or JSON lines. */
#ifndef BM_LOG_H
#define BM_LOG_H

enum log_level {
	LOG_LEVEL_WARN = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_DEBUG = 2,
	LOG_LEVEL_LIBBPF = 3, /* libbpf/libxdp chatter, seen at -vvv */
};

/* Set the most verbose level printed (default LOG_LEVEL_WARN). Cannot fail. */
void log_set_level(int level);
int log_get_level(void);

/* Print one JSON object per line instead of text. Cannot fail. */
void log_set_json(int is_json);

/* Print one line at level. Cannot fail. */
void log_print(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Route libbpf and libxdp messages into this logger one level lower. */
void log_hook_libbpf(void);

#define pr_warn(...) log_print(LOG_LEVEL_WARN, __VA_ARGS__)
#define pr_info(...) log_print(LOG_LEVEL_INFO, __VA_ARGS__)
#define pr_debug(...) log_print(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif /* BM_LOG_H */
