/* SPDX-License-Identifier: MIT */
/*
 * Logging in the style of OpenBSD's log.c: every line names its process.
 * Never pass keys, nonces or plaintext; file names only at debug level.
 */
#ifndef CS_LOG_H
#define CS_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_WARN = 0, LOG_LVL_INFO = 1, LOG_LVL_DEBUG = 2 };

/* Sets the process name printed on each line and the verbosity. */
void log_init(const char *procname, int level);
/* Returns the current verbosity (enum log_level). */
int log_getlevel(void);
void log_setlevel(int level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal appends strerror(errno); both exit(1) and never return. */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
