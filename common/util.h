/* common/util.h — small helpers shared by every stage: strict number parsing, whole-file
 * reads, safe creation of output files, clocks. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HL_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Parse all of @s as an unsigned decimal (or 0x hex when @base is 0) in [min, max].
 * Returns 0, or -EINVAL (not a number, trailing junk) or -ERANGE. */
int hl_parse_u64(const char *s, int base, uint64_t min, uint64_t max, uint64_t *out);
/* Same for doubles (durations, thresholds). */
int hl_parse_double(const char *s, double min, double max, double *out);

/* Reads a whole file (procfs files included, which report size 0) into a NUL-terminated
 * malloc'ed buffer.  Stops at @limit bytes and returns -EFBIG.  Returns 0 or -errno; on
 * success the caller frees *buf. */
int hl_read_file(const char *path, size_t limit, char **buf, size_t *len);

/* Creates (or truncates) an output file for writing with mode 0644 without following a
 * symlink in its last component: a file named by the user in /tmp must not redirect our
 * write elsewhere.  Returns a FILE* or NULL with errno set. */
FILE *hl_create_output(const char *path);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds; the BPF side stamps samples with the
 * monotonic clock (bpf_ktime_get_ns). */
uint64_t hl_now_monotonic_ns(void);
uint64_t hl_now_realtime_ns(void);

/* CPU time (user + system) this process has used, in nanoseconds. */
uint64_t hl_self_cpu_ns(void);

/* Makes room for @need elements of @elem bytes in the malloc'ed array *@buf of capacity
 * *@cap, doubling (from 64) so appends cost amortized O(1).  Returns 0, or -ENOMEM with the
 * array unchanged. */
int hl_grow(void **buf, size_t *cap, size_t need, size_t elem);

/* The value of hex digit @c (0-9, a-f, A-F), or -1. */
static inline int hl_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* strlcpy semantics: always NUL-terminates when size > 0, returns strlen(src). */
size_t hl_strlcpy(char *dst, const char *src, size_t size);
