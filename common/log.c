/* common/log.c — see log.h. */
#include "common/log.h"

#include <stdio.h>
#include <string.h>

static enum hl_log_level current_level = HL_LOG_WARN;

void hl_log_set_level(enum hl_log_level level)
{
	current_level = level;
}

enum hl_log_level hl_log_get_level(void)
{
	return current_level;
}

bool hl_log_enabled(enum hl_log_level level)
{
	return level <= current_level;
}

void hl_vlog(enum hl_log_level level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
	size_t len = strlen(fmt);

	if (!hl_log_enabled(level))
		return;
	fprintf(stderr, "hotloop: %s", prefix[level]);
	vfprintf(stderr, fmt, ap);
	if (len == 0 || fmt[len - 1] != '\n')
		fputc('\n', stderr);
}

void hl_log(enum hl_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hl_vlog(level, fmt, ap);
	va_end(ap);
}
