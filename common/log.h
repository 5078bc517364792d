/* common/log.h — diagnostics on stderr, one place to set verbosity.
 *
 * Primary output (reports, tables) goes to stdout through the caller's FILE*; everything here
 * goes to stderr, prefixed with "hotloop: ".  Foreign libraries (libbpf, libdw, sqlite) are
 * routed through hl_log so -v shows their debug output and the default shows only warnings.
 */
#pragma once
#include <stdarg.h>
#include <stdbool.h>

enum hl_log_level { HL_LOG_ERROR = 0, HL_LOG_WARN = 1, HL_LOG_INFO = 2, HL_LOG_DEBUG = 3 };

/* Messages above @level are dropped.  Default HL_LOG_WARN. */
void hl_log_set_level(enum hl_log_level level);
enum hl_log_level hl_log_get_level(void);
bool hl_log_enabled(enum hl_log_level level);

void hl_log(enum hl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hl_vlog(enum hl_log_level level, const char *fmt, va_list ap);

#define hl_err(...) hl_log(HL_LOG_ERROR, __VA_ARGS__)
#define hl_warn(...) hl_log(HL_LOG_WARN, __VA_ARGS__)
#define hl_info(...) hl_log(HL_LOG_INFO, __VA_ARGS__)
#define hl_debug(...) hl_log(HL_LOG_DEBUG, __VA_ARGS__)
