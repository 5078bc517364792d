/* daemon/labels.h — which service a process belongs to, from its cgroup.
 *
 * The daemon labels every process with a service so an SRE can ask "where did CPU go in
 * api.service": the systemd unit that owns the process's cgroup, else the container it runs
 * in, else its executable's base name.  A parser of /proc/PID/cgroup text: no I/O here, the
 * caller reads the file (the text is the target's to choose only as far as its cgroup path
 * goes; every field is bounded by the buffers below).
 */
#pragma once
#include <stddef.h>

struct hl_labels {
	char cgroup[256];    /* the cgroup path used ("/system.slice/api.service"), "" unknown */
	char unit[128];	     /* systemd unit ("api.service"), "" none */
	char container[80];  /* container id ("3f2a..."), "" none */
	char service[128];   /* what reports call the service: unit, "container:<12 hex>", or the
				executable's base name; "" when none of them is known */
};

/* Fills @out from the text of /proc/PID/cgroup (@text, @len bytes, need not be
 * NUL-terminated) and the process's executable path @exe (may be NULL).  Never fails: what
 * cannot be found stays "". */
void hl_labels_parse(const char *text, size_t len, const char *exe, struct hl_labels *out);
