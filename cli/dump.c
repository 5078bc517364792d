/* cli/dump.c — `hotloop dump PID`: the Python stack of every thread of a live process and,
 * with --async, its asyncio task tree (like `py-spy dump` plus `python -m asyncio pstree`).
 *
 * Reads the target with process_vm_readv only: the process is never stopped, so it runs on
 * while it is read, for as long as the reads take (about a millisecond per thread, a few per
 * thousand tasks).  The price is consistency: a thread that runs meanwhile may be read
 * half-way through a call, and a task may finish or start between two reads.  Threads that
 * are blocked (waiting for I/O, a lock or the GIL) and suspended tasks are read exactly; for
 * a snapshot of a busy process, stop it around the dump (kill -STOP / -CONT).
 *
 * No BPF and no root needed beyond what reading the process's memory takes (same user, or
 * CAP_SYS_PTRACE).  Output on stdout: text for people, or --json (docs/formats.md).
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "collector/python.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"
#include "symbolize/asyncio.h"
#include "symbolize/procmem.h"
#include "symbolize/pycode.h"
#include "symbolize/pystack.h"
#include "symbolize/pythreads.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DUMP_THREADS_MAX 4096
#define DUMP_FRAMES_MAX 1024
#define PTHREAD_SCAN_BYTES 2048 /* struct pthread is ~2.3 KiB in glibc 2.3x; tid is early */

struct dump_thread {
	uint64_t tstate;
	uint64_t ident; /* pthread_t: threading.get_ident() */
	uint32_t tid;	/* 0: unknown */
	char *name;	/* threading's name, or NULL */
	int gil;	/* enum hl_sample_gil */
	int attach;	/* hl_pystack_attach_state */
	int status;	/* enum hl_py_status */
	unsigned n;
	struct hl_py_frame *frames;
};

struct dump {
	struct hl_python py;
	struct hl_pycode_cache *codes;
	struct dump_thread *threads;
	size_t nr_threads;
	struct hl_asyncio *aio;
	uint64_t *tasks;
	size_t nr_tasks, cap_tasks;
	struct hl_async_task_info *infos; /* nr_tasks of them */
	struct hl_map *task_index;	 /* task address -> index + 1 */
	bool json;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hotloop dump [--async] [--json] PID\n"
		"\n"
		"Prints the current Python stack of every thread of a running process, with the\n"
		"names threading gave them and whether each holds the GIL; with --async, also its\n"
		"asyncio task tree: every pending task, the coroutines it is suspended in, and the\n"
		"tasks awaiting it (what `python -m asyncio pstree` shows on 3.14, for 3.8-3.14).\n"
		"\n"
		"      --async     the asyncio task tree too\n"
		"      --json      one JSON object (docs/formats.md) instead of text\n"
		"  -h, --help      this help\n"
		"\n"
		"The process is not stopped: it is read while it runs, so a thread that runs\n"
		"meanwhile may be caught half-way through a call (blocked threads and suspended tasks\n"
		"are read exactly).  For a consistent snapshot of a busy process, stop it around the\n"
		"dump: kill -STOP PID; hotloop dump PID; kill -CONT PID.  Needs permission to read\n"
		"its memory (same user with ptrace allowed, or CAP_SYS_PTRACE); no BPF.\n"
		"\n"
		"examples:\n"
		"  hotloop dump 4242\n"
		"  hotloop dump --async --json 4242 > tasks.json\n");
}

/* ---- threads ------------------------------------------------------------------------------ */

static int add_thread(uint64_t tstate, uint64_t pthread_id, uint32_t native_tid, void *arg)
{
	struct dump *d = arg;
	struct dump_thread *t;

	if (d->nr_threads >= DUMP_THREADS_MAX)
		return 1;
	t = &d->threads[d->nr_threads++];
	memset(t, 0, sizeof(*t));
	t->tstate = tstate;
	t->ident = pthread_id;
	t->tid = native_tid;
	return 0;
}

static int name_thread(uint64_t ident, const char *name, void *arg)
{
	struct dump *d = arg;
	size_t i;

	for (i = 0; i < d->nr_threads; i++)
		if (d->threads[i].ident == ident && !d->threads[i].name)
			d->threads[i].name = strdup(name);
	return 0;
}

static int read_tids(pid_t pid, uint32_t *tids, size_t max, size_t *n)
{
	char path[64];
	struct dirent *e;
	DIR *dir;

	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && *n < max) {
		uint64_t tid;

		if (!hl_parse_u64(e->d_name, 10, 1, UINT32_MAX, &tid))
			tids[(*n)++] = (uint32_t)tid;
	}
	closedir(dir);
	return 0;
}

static bool has_tid(const uint32_t *tids, size_t n, uint32_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tids[i] == v)
			return true;
	return false;
}

/* ≤3.10 thread states know only their pthread_t, the address of glibc's struct pthread,
 * which holds the kernel tid at a fixed offset: the one offset where every thread's struct
 * holds one of the process's tids. */
static void map_tids(struct dump *d)
{
	static uint8_t buf[64][PTHREAD_SCAN_BYTES]; /* threads examined to find the offset */
	uint32_t tids[DUMP_THREADS_MAX], v;
	bool ok[PTHREAD_SCAN_BYTES / 4];
	size_t ntids, i, k, nread = 0, off;

	if (read_tids(d->py.pid, tids, HL_ARRAY_SIZE(tids), &ntids) || !ntids)
		return;
	for (k = 0; k < HL_ARRAY_SIZE(ok); k++)
		ok[k] = k >= 4; /* past tcbhead_t's self pointers */
	for (i = 0; i < d->nr_threads && nread < HL_ARRAY_SIZE(buf); i++) {
		if (d->threads[i].tid || !d->threads[i].ident ||
		    hl_procmem_read(d->py.pid, d->threads[i].ident, buf[nread], PTHREAD_SCAN_BYTES))
			continue;
		for (k = 0; k < HL_ARRAY_SIZE(ok); k++) {
			memcpy(&v, buf[nread] + 4 * k, 4);
			ok[k] = ok[k] && has_tid(tids, ntids, v);
		}
		nread++;
	}
	for (k = 0; k < HL_ARRAY_SIZE(ok) && !ok[k]; k++)
		;
	if (!nread || k == HL_ARRAY_SIZE(ok))
		return;
	off = 4 * k;
	for (i = 0; i < d->nr_threads; i++)
		if (!d->threads[i].tid && d->threads[i].ident &&
		    !hl_procmem_read_u32(d->py.pid, d->threads[i].ident + off, &v) &&
		    has_tid(tids, ntids, v))
			d->threads[i].tid = v;
}

static int read_threads(struct dump *d)
{
	size_t i;
	int err;

	d->threads = calloc(DUMP_THREADS_MAX, sizeof(*d->threads));
	if (!d->threads)
		return -ENOMEM;
	err = hl_python_for_each_thread(&d->py, DUMP_THREADS_MAX, add_thread, d);
	if (err)
		return err;
	for (i = 0; i < d->nr_threads; i++) {
		struct dump_thread *t = &d->threads[i];

		t->frames = calloc(DUMP_FRAMES_MAX, sizeof(*t->frames));
		if (!t->frames)
			return -ENOMEM;
		t->gil = hl_pystack_gil(&d->py, t->tstate);
		t->attach = hl_pystack_attach_state(&d->py, t->tstate);
		t->status = hl_pystack_walk(&d->py, t->tstate, t->frames, DUMP_FRAMES_MAX, &t->n);
		if (t->status == -ESRCH)
			return -ESRCH;
	}
	map_tids(d);
	hl_python_thread_names(&d->py, name_thread, d);
	return 0;
}

/* ---- tasks -------------------------------------------------------------------------------- */

static int add_task(uint64_t task, void *arg)
{
	struct dump *d = arg;

	if (hl_grow((void **)&d->tasks, &d->cap_tasks, d->nr_tasks + 1, sizeof(*d->tasks)))
		return -ENOMEM;
	d->tasks[d->nr_tasks++] = task;
	return 0;
}

static int read_tasks(struct dump *d)
{
	size_t i, kept = 0;
	int err;

	d->aio = hl_asyncio__new(&d->py);
	d->task_index = hl_map__new(64);
	if (!d->aio || !d->task_index)
		return -ENOMEM;
	if (!hl_asyncio__active(d->aio, hl_now_monotonic_ns(), 0))
		return 0; /* no asyncio: no tasks */
	err = hl_asyncio__for_each_task(d->aio, add_task, d);
	if (err < 0)
		return err;
	d->infos = calloc(d->nr_tasks ? d->nr_tasks : 1, sizeof(*d->infos));
	if (!d->infos)
		return -ENOMEM;
	for (i = 0; i < d->nr_tasks; i++) {
		/* A task that finished since the walk is no longer pending: left out. */
		if (hl_asyncio__task_info(d->aio, d->tasks[i], &d->infos[kept]))
			continue;
		hl_map__set(d->task_index, d->tasks[i], kept + 1);
		kept++;
	}
	d->nr_tasks = kept;
	/* 3.14 knows each thread's running task; ≤3.13 marks it in hl_asyncio__task_info. */
	for (i = 0; i < d->nr_threads; i++) {
		uint64_t task, idx;

		if (!hl_asyncio__running_task(d->aio, d->threads[i].tstate, &task) && task &&
		    hl_map__get(d->task_index, task, &idx))
			d->infos[idx - 1].running = true;
	}
	return 0;
}

/* ---- output ------------------------------------------------------------------------------- */

struct named_frame {
	const char *function;
	const char *file;
	int line;
};

static void name_frame(struct dump *d, const struct hl_py_frame *f, struct named_frame *out)
{
	struct hl_pycode *code = NULL;
	int err;

	out->function = "[unreadable code object]";
	out->file = "";
	out->line = 0;
	if (f->code && !(f->flags & HL_PYF_BAD_LASTI && f->lasti >= 0))
		code = hl_pycode_cache__get(d->codes, f->code, f->fingerprint, &err);
	if (!code)
		return;
	out->function = code->qualname;
	out->file = code->filename;
	out->line = hl_pycode__line(code, &d->py.ver, f->lasti);
}

static void async_frame(struct dump *d, const struct hl_async_frame *af, struct named_frame *out)
{
	struct hl_py_frame f = {.code = af->code, .fingerprint = af->fingerprint,
				.lasti = af->lasti, .flags = af->flags};

	name_frame(d, &f, out);
}

static void json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void json_frame(const struct named_frame *nf)
{
	printf("{\"function\": ");
	json_str(nf->function);
	printf(", \"file\": ");
	json_str(nf->file);
	printf(", \"line\": %d}", nf->line);
}

static const char *gil_name(int gil)
{
	return gil == HL_GIL_STATE_HELD ? "held" : gil == HL_GIL_STATE_NOT_HELD ? "not held"
										: "unknown";
}

static const char *attach_name(int s)
{
	static const char *const names[] = {"detached", "attached", "suspended", "shutting down"};

	return s >= 0 && s < 4 ? names[s] : NULL;
}

static const char *status_name(int status)
{
	switch (status) {
	case HL_PY_OK:
		return "ok";
	case HL_PY_READ_FAILED:
		return "truncated: unreadable frame (the thread ran while it was read)";
	case HL_PY_TOO_DEEP:
		return "truncated: deeper than the frame limit";
	case HL_PY_CYCLE:
		return "truncated: frame cycle";
	default:
		return "unreadable thread state";
	}
}

static void print_json(struct dump *d)
{
	struct named_frame nf;
	size_t i, j;

	printf("{\"pid\": %d, \"python\": ", (int)d->py.pid);
	json_str(d->py.version);
	printf(", \"binary\": ");
	json_str(d->py.binary);
	printf(", \"threads\": [");
	for (i = 0; i < d->nr_threads; i++) {
		const struct dump_thread *t = &d->threads[i];

		printf("%s\n  {\"tid\": %u, \"ident\": %llu, \"name\": ", i ? "," : "", t->tid,
		       (unsigned long long)t->ident);
		if (t->name)
			json_str(t->name);
		else
			printf("null");
		printf(", \"gil\": \"%s\", \"state\": ", gil_name(t->gil));
		if (attach_name(t->attach))
			printf("\"%s\"", attach_name(t->attach));
		else
			printf("null");
		printf(", \"status\": ");
		json_str(status_name(t->status));
		printf(", \"frames\": [");
		for (j = 0; j < t->n; j++) {
			name_frame(d, &t->frames[j], &nf);
			printf("%s", j ? ", " : "");
			json_frame(&nf);
		}
		printf("]}");
	}
	printf("]");
	if (d->aio) {
		printf(",\n \"tasks\": [");
		for (i = 0; i < d->nr_tasks; i++) {
			const struct hl_async_task_info *ti = &d->infos[i];

			printf("%s\n  {\"id\": %llu, \"name\": ", i ? "," : "",
			       (unsigned long long)ti->addr);
			json_str(ti->name);
			printf(", \"running\": %s, \"coroutine_stack\": [",
			       ti->running ? "true" : "false");
			/* Innermost first, as thread stacks and CPython's own tools list them. */
			for (j = ti->n_frames; j-- > 0;) {
				async_frame(d, &ti->frames[j], &nf);
				json_frame(&nf);
				printf("%s", j ? ", " : "");
			}
			printf("], \"awaited_by\": [");
			for (j = 0; j < ti->n_awaiters; j++)
				printf("%s%llu", j ? ", " : "", (unsigned long long)ti->awaiters[j]);
			printf("], \"awaited_by_total\": %u}", ti->awaiters_total);
		}
		printf("]");
	}
	printf("}\n");
}

/* The task tree, drawn like `python -m asyncio pstree`: each task, under the coroutine
 * frames of the task awaiting it; frames of one parent that several children share are
 * drawn once. */
struct tree_node {
	char *label;
	bool task;
	struct tree_node **kids;
	size_t nr_kids, cap_kids;
};

static struct tree_node *node_new(const char *label, bool task)
{
	struct tree_node *n = calloc(1, sizeof(*n));

	if (n) {
		n->label = strdup(label);
		n->task = task;
		if (!n->label) {
			free(n);
			n = NULL;
		}
	}
	return n;
}

static void node_free(struct tree_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nr_kids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->label);
	free(n);
}

static struct tree_node *node_child(struct tree_node *parent, const char *label, bool task)
{
	struct tree_node *n;
	size_t i;

	for (i = 0; i < parent->nr_kids; i++)
		if (parent->kids[i]->task == task && !strcmp(parent->kids[i]->label, label))
			return parent->kids[i];
	if (hl_grow((void **)&parent->kids, &parent->cap_kids, parent->nr_kids + 1,
		    sizeof(*parent->kids)))
		return NULL;
	n = node_new(label, task);
	if (n)
		parent->kids[parent->nr_kids++] = n;
	return n;
}

static void frame_label(struct dump *d, const struct hl_async_frame *af, char *buf, size_t size)
{
	struct named_frame nf;

	async_frame(d, af, &nf);
	snprintf(buf, size, "%s %s:%d", nf.function, nf.file, nf.line);
}

/* Adds under @parent the task at index @i: its label, then its own coroutine frames when
 * it awaits no other task (its children hang under its frames otherwise).  @depth bounds
 * a cyclic await graph. */
static void add_subtree(struct dump *d, struct tree_node *parent, size_t i, unsigned depth)
{
	const struct hl_async_task_info *ti = &d->infos[i];
	char label[HL_ASYNC_NAME_MAX + 600];
	struct tree_node *tn, *cur;
	bool parent_of_any = false;
	size_t c, k, j;

	tn = node_child(parent, ti->name, true);
	if (!tn || depth > HL_ASYNC_MAX_TASKS)
		return;
	for (c = 0; c < d->nr_tasks; c++) {
		const struct hl_async_task_info *ci = &d->infos[c];

		for (k = 0; k < ci->n_awaiters; k++) {
			if (ci->awaiters[k] != ti->addr)
				continue;
			parent_of_any = true;
			cur = tn;
			for (j = 0; j < ti->n_frames && cur; j++) {
				frame_label(d, &ti->frames[j], label, sizeof(label));
				cur = node_child(cur, label, false);
			}
			if (cur)
				add_subtree(d, cur, c, depth + 1);
		}
	}
	if (!parent_of_any) {
		cur = tn;
		for (j = 0; j < ti->n_frames && cur; j++) {
			frame_label(d, &ti->frames[j], label, sizeof(label));
			cur = node_child(cur, label, false);
		}
	}
}

static void print_node(const struct tree_node *n, const char *prefix, bool last)
{
	char next[1024];
	size_t i;

	printf("%s%s%s %s\n", prefix, last ? "└── " : "├── ", n->task ? "(T)" : "", n->label);
	snprintf(next, sizeof(next), "%s%s", prefix, last ? "    " : "│   ");
	for (i = 0; i < n->nr_kids; i++)
		print_node(n->kids[i], next, i + 1 == n->nr_kids);
}

static void print_tree(struct dump *d)
{
	struct tree_node *root = node_new("", false);
	size_t i, k;

	if (!root)
		return;
	for (i = 0; i < d->nr_tasks; i++) {
		bool has_parent = false;

		for (k = 0; k < d->infos[i].n_awaiters; k++)
			has_parent |= hl_map__get(d->task_index, d->infos[i].awaiters[k], NULL);
		if (!has_parent)
			add_subtree(d, root, i, 0);
	}
	for (i = 0; i < root->nr_kids; i++)
		print_node(root->kids[i], "", true);
	node_free(root);
}

static void print_text(struct dump *d)
{
	struct named_frame nf;
	size_t i, j;

	printf("Process %d: Python %s (%s)\n", (int)d->py.pid, d->py.version, d->py.binary);
	for (i = 0; i < d->nr_threads; i++) {
		const struct dump_thread *t = &d->threads[i];
		const char *att = attach_name(t->attach);

		printf("\nThread %u", t->tid);
		if (t->name)
			printf(" \"%s\"", t->name);
		printf(" (%s%s%s)\n",
		       t->gil == HL_GIL_STATE_HELD ? "holds the GIL" : "does not hold the GIL",
		       att ? ", " : "", att ? att : "");
		for (j = 0; j < t->n; j++) {
			name_frame(d, &t->frames[j], &nf);
			printf("    %s (%s:%d)\n", nf.function, nf.file, nf.line);
		}
		if (t->status != HL_PY_OK)
			printf("    [%s]\n", status_name(t->status));
	}
	if (d->aio) {
		printf("\nTasks (%zu pending):\n", d->nr_tasks);
		print_tree(d);
	}
}

/* ---- the command ------------------------------------------------------------------------- */

static void dump_release(struct dump *d)
{
	size_t i;

	for (i = 0; d->threads && i < d->nr_threads; i++) {
		free(d->threads[i].name);
		free(d->threads[i].frames);
	}
	free(d->threads);
	free(d->tasks);
	free(d->infos);
	hl_map__free(d->task_index);
	hl_asyncio__free(d->aio);
	hl_pycode_cache__free(d->codes);
}

int cmd_dump(int argc, char **argv)
{
	enum { OPT_ASYNC = 256, OPT_JSON };
	static const struct option longopts[] = {
		{"async", no_argument, NULL, OPT_ASYNC},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct dump d = {0};
	bool want_async = false;
	uint64_t pid;
	int c, ret, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ASYNC:
			want_async = true;
			break;
		case OPT_JSON:
			d.json = true;
			break;
		case 'h':
			usage(stdout);
			return HL_EXIT_OK;
		default:
			usage(stderr);
			return HL_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || hl_parse_u64(argv[optind], 10, 1, INT32_MAX, &pid)) {
		fprintf(stderr, "hotloop dump: give one process id\n\n");
		usage(stderr);
		return HL_EXIT_USAGE;
	}
	ret = hl_python_detect((pid_t)pid, &d.py);
	if (ret == -ESRCH) {
		hl_err("no process with pid %llu", (unsigned long long)pid);
		return HL_EXIT_ERROR;
	}
	if (ret < 0) {
		hl_err("cannot read the memory of pid %llu (%s): run as the same user with "
		       "ptrace allowed (kernel.yama.ptrace_scope), or with CAP_SYS_PTRACE",
		       (unsigned long long)pid, strerror(-ret));
		return HL_EXIT_ERROR;
	}
	if (ret != HL_PYDETECT_OK) {
		hl_err("pid %llu: %s", (unsigned long long)pid,
		       d.py.status[0] ? d.py.status : "no Python interpreter");
		return HL_EXIT_ERROR;
	}
	d.codes = hl_pycode_cache__new(d.py.pid, &d.py.ver, d.py.code_type);
	err = d.codes ? read_threads(&d) : -ENOMEM;
	if (!err && want_async)
		err = read_tasks(&d);
	if (err) {
		hl_err("pid %llu: %s", (unsigned long long)pid,
		       err == -ESRCH ? "the process exited" : strerror(-err));
		dump_release(&d);
		return HL_EXIT_ERROR;
	}
	if (d.json)
		print_json(&d);
	else
		print_text(&d);
	dump_release(&d);
	return HL_EXIT_OK;
}
