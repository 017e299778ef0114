/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_procname = "cryptstack";
static int log_level = LOG_LVL_INFO;

void log_init(const char *procname, int level)
{
	log_procname = procname;
	log_level = level;
	const char *env = getenv("CRYPTSTACK_DEBUG");
	if (env && *env && *env != '0')
		log_level = LOG_LVL_DEBUG;
}

int log_getlevel(void)
{
	return log_level;
}

void log_setlevel(int level)
{
	log_level = level;
}

/* One write(2) per line so lines of several processes do not interleave. */
static void __attribute__((format(printf, 3, 0)))
vlog(int with_errno, int saved, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s: ", log_procname);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	int m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (with_errno) {
		m = snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(saved));
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(buf) - 2)
			n = sizeof(buf) - 2;
	}
	buf[n++] = '\n';
	ssize_t r = write(STDERR_FILENO, buf, n);
	(void)r;
}

#define LOG_BODY(err, lvl)                                                  \
	do {                                                                \
		int saved_ = errno;                                         \
		if (log_level < (lvl))                                      \
			break;                                              \
		va_list ap;                                                 \
		va_start(ap, fmt);                                          \
		vlog(err, saved_, fmt, ap);                                 \
		va_end(ap);                                                 \
		errno = saved_;                                             \
	} while (0)

void log_warn(const char *fmt, ...)
{
	LOG_BODY(1, LOG_LVL_WARN);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(0, LOG_LVL_WARN);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(0, LOG_LVL_INFO);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(0, LOG_LVL_DEBUG);
}

void fatal(const char *fmt, ...)
{
	LOG_BODY(1, LOG_LVL_WARN);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(0, LOG_LVL_WARN);
	exit(1);
}
