/* log.c - leveled logging to stderr, with journald priority prefixes */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __APPLE__
#include <syslog.h>
#include <unistd.h>
#endif

#include "log.h"

static const char *log_ident = "gangway";
static enum log_level log_level = LOG_LVL_INFO;
/*
 * Under systemd, stderr is a journal stream (JOURNAL_STREAM is set): a
 * "<N>" prefix carries the priority and the journal adds time and name.
 * On a terminal we print "ident: level: message" instead. On macOS, away
 * from a terminal (a launchd job), messages go to the unified log through
 * syslog(3): it adds the time, keeps the level and rotates by itself
 * (`log show --predicate 'process == "gangway"' --info`).
 */
static bool log_journal;
#ifdef __APPLE__
static bool log_syslog;
#endif

void log_init(const char *ident, enum log_level level)
{
	log_ident = ident;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
#ifdef __APPLE__
	log_syslog = !isatty(STDERR_FILENO);
	if (log_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
#endif
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

static const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERR:	return "error";
	case LOG_LVL_WARN:	return "warning";
	case LOG_LVL_NOTICE:	return "notice";
	case LOG_LVL_INFO:	return "info";
	case LOG_LVL_DEBUG:	return "debug";
	}
	return "?";
}

#ifndef __GLIBC__
/*
 * Only glibc's printf knows %m: elsewhere (macOS) replace it with the
 * error's text, its own '%' doubled, before formatting. A format that does
 * not fit is used as it is.
 */
static const char *log_expand_m(char *out, size_t size, const char *fmt, int err)
{
	const char *text = strerror(err);
	size_t o = 0;

	if (!strstr(fmt, "%m"))
		return fmt;
	for (const char *f = fmt; *f; f++) {
		if (o + 3 > size)
			return fmt;
		if (f[0] == '%' && (f[1] == '%' || f[1] == 'm')) {
			if (f[1] == 'm') {
				for (const char *t = text; *t; t++) {
					if (o + 3 > size)
						return fmt;
					if (*t == '%')
						out[o++] = '%';
					out[o++] = *t;
				}
			} else {
				out[o++] = '%';
				out[o++] = '%';
			}
			f++;
			continue;
		}
		out[o++] = *f;
	}
	out[o] = '\0';
	return out;
}
#endif

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
#ifndef __GLIBC__
	char expanded[512];
#endif
	int saved = errno;

	if (level > log_level)
		return;
#ifndef __GLIBC__
	fmt = log_expand_m(expanded, sizeof(expanded), fmt, saved);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"	/* the caller's, checked there */
#endif
	vsnprintf(line, sizeof(line), fmt, ap);
#ifndef __GLIBC__
#pragma GCC diagnostic pop
#endif
	/* One write per line so concurrent writers do not interleave. */
#ifdef __APPLE__
	if (log_syslog)
		syslog((int)level, "%s", line);
	else
#endif
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, log_level_name(level), line);
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
