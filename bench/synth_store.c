/* bench/synth_store.c — writes synthetic profile stores for the report benchmark and tests.
 *
 *   hotloop-synth OUT.db [--samples N] [--stacks S] [--functions F] [--depth D]
 *                        [--processes P] [--threads T] [--mixed] [--seed N] [--layout-seed N]
 *                        [--boost NAME=FACTOR] [--rename OLD=NEW] [--move NAME=FILE]
 *
 * A *layout* (chosen by --layout-seed) is a set of S distinct stacks over F Python functions
 * (and, with --mixed, native functions of a few libraries, the eval loop under each run of
 * Python frames as a mixed-mode recording stores it, and kernel frames), each with a weight
 * from a Zipf-like law.  --samples N samples are then drawn from that distribution with
 * --seed, each on a random thread, in a random GIL state, at increasing times: two stores with
 * one layout seed and different sample seeds are two recordings of one workload.  --boost
 * multiplies the weight of the stacks whose innermost frame is function NAME ("one function
 * made FACTOR times slower"); --rename and --move change a function's name or file in the
 * layout (for diff's added/removed).  Function names are unique across kinds, so per-name
 * comparisons with other tools are exact.  Writes through the store API (schema/store.h), one
 * row per sample, as the recorder does.  Prints the number of distinct stacks written.
 */
#define _GNU_SOURCE
#include "schema/store.h"
#include "common/hashmap.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rng() % n : 0;
}

static double uniform(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

struct opts {
	const char *out;
	uint64_t samples, stacks, functions, depth, processes, threads, seed, layout_seed;
	bool mixed;
	const char *boost_name;
	double boost;
	const char *rename_from, *rename_to, *move_name, *move_file;
};

#define NR_LIBS 4
#define CALLEES 6  /* calls per function in the call graph */
#define ENTRIES 12 /* functions <module> calls */
#define NR_NATIVE 40
#define NR_KERNEL 12

struct layout {
	int64_t *py;      /* function ids */
	char **py_name;
	int64_t native[NR_NATIVE], kernel[NR_KERNEL], eval, module;
	int64_t *stack;   /* leaf stack id per distinct stack */
	int64_t *leaf_fn; /* innermost function id */
	double *cum;      /* cumulative weights */
	size_t nr;
};

/* The first line of Python function @f's definition. */
static int32_t l_first(size_t f)
{
	return (int32_t)(10 + f * 7 % 400);
}

static int build_layout(struct hl_store *s, const struct opts *o, struct layout *l)
{
	static const char *const libs[NR_LIBS] = {"/usr/lib/libpython3.12.so.1.0",
						  "/usr/lib/x86_64-linux-gnu/libz.so.1",
						  "/srv/app/_speedups.cpython-312.so",
						  "/usr/lib/x86_64-linux-gnu/libc.so.6"};
	char name[128], file[128];
	int64_t frame, stack;
	size_t i, attempts = 0;
	double total = 0;
	uint64_t dummy;
	struct hl_map *seen = hl_map__new(o->stacks);
	struct edge {
		size_t callee;
		uint64_t via_native; /* 1 + the C function the call goes through, 0: direct */
	} *graph;

	rng_state = o->layout_seed * 0x2545f4914f6cdd1dULL + 1;
	l->py = calloc(o->functions, sizeof(*l->py));
	l->py_name = calloc(o->functions, sizeof(*l->py_name));
	l->stack = calloc(o->stacks, sizeof(*l->stack));
	l->leaf_fn = calloc(o->stacks, sizeof(*l->leaf_fn));
	l->cum = calloc(o->stacks, sizeof(*l->cum));
	if (!l->py || !l->py_name || !l->stack || !l->leaf_fn || !l->cum || !seen) {
		hl_map__free(seen);
		return -ENOMEM;
	}
	for (i = 0; i < o->functions; i++) {
		snprintf(name, sizeof(name), "handler_%zu", i);
		snprintf(file, sizeof(file), "/srv/app/mod%zu.py", i % 17);
		if (o->rename_from && !strcmp(name, o->rename_from))
			snprintf(name, sizeof(name), "%s", o->rename_to);
		if (o->move_name && !strcmp(name, o->move_name))
			snprintf(file, sizeof(file), "%s", o->move_file);
		l->py_name[i] = strdup(name);
		l->py[i] = hl_store__intern_function(s, HL_FUNC_PYTHON, name, file, l_first(i),
						     NULL);
		if (l->py[i] < 0)
			return (int)l->py[i];
	}
	l->module = hl_store__intern_function(s, HL_FUNC_PYTHON, "<module>", "/srv/app/main.py", 1,
					      NULL);
	for (i = 0; i < NR_NATIVE; i++) {
		snprintf(name, sizeof(name), "c_helper_%zu", i);
		snprintf(file, sizeof(file), "helpers%zu.c", i % 5);
		l->native[i] = hl_store__intern_function(s, HL_FUNC_NATIVE, name, file,
							 (int32_t)(100 + i), libs[i % NR_LIBS]);
	}
	for (i = 0; i < NR_KERNEL; i++) {
		snprintf(name, sizeof(name), "ksys_%zu", i);
		l->kernel[i] = hl_store__intern_function(s, HL_FUNC_KERNEL, name, NULL, 0, NULL);
	}
	l->eval = hl_store__intern_function(s, HL_FUNC_EVAL, "_PyEval_EvalFrameDefault",
					    "Python/ceval.c", 0, libs[0]);
	if (l->module < 0 || l->eval < 0)
		return -EIO;

	/* A static call graph, as code has one: each function calls CALLEES functions (skewed
	 * towards low-numbered ones, which are called from everywhere), each from its own line;
	 * with --mixed some calls go through a C extension that calls back, and some functions
	 * end in C (and then, sometimes, in the kernel).  Stacks are random walks on it. */
	graph = calloc(o->functions * CALLEES, sizeof(*graph));
	if (!graph)
		return -ENOMEM;
	for (i = 0; i < o->functions * CALLEES; i++) {
		graph[i].callee =
		    (size_t)((double)o->functions * pow(uniform(), 2.0)) % o->functions;
		graph[i].via_native = o->mixed && below(8) == 0 ? 1 + below(NR_NATIVE) : 0;
	}
	while (l->nr < o->stacks) {
		uint64_t depth = 2 + below(o->depth > 2 ? o->depth - 1 : 1);
		bool in_python = false;
		int64_t leaf_fn = l->module;
		size_t f = below(ENTRIES) % o->functions, k;
		uint64_t d;

		if (++attempts > o->stacks * 50) {
			fprintf(stderr, "hotloop-synth: only %zu distinct stacks found: give more "
					"--functions or --depth\n",
				l->nr);
			break;
		}
		stack = 0;
#define PUSH(fn, line, addr)                                                                    \
	do {                                                                                    \
		frame = hl_store__intern_frame(s, (fn), (line), (addr));                        \
		stack = frame < 0 ? frame : hl_store__intern_stack(s, stack, frame);            \
		if (stack < 0)                                                                  \
			return (int)stack;                                                      \
		leaf_fn = (fn);                                                                 \
	} while (0)
		if (o->mixed) {
			PUSH(l->eval, 0, 0x1000);
			in_python = true;
		}
		PUSH(l->module, (int32_t)(3 + f), 0);
		for (d = 1; d < depth; d++) {
			if (o->mixed && !in_python) {
				PUSH(l->eval, 0, 0x1000 + (f % 4) * 16);
				in_python = true;
			}
			/* Mostly the first callee: real stacks share long prefixes. */
			k = (size_t)((double)CALLEES * pow(uniform(), 8.0)) % CALLEES;
			if (d + 1 == depth) {
				/* The innermost Python frame runs one of a few hot lines. */
				PUSH(l->py[f], (int32_t)(l_first(f) + 20 + below(3)), 0);
				break;
			}
			PUSH(l->py[f], (int32_t)(l_first(f) + 1 + 2 * k), 0);
			if (graph[f * CALLEES + k].via_native) {
				uint64_t n = graph[f * CALLEES + k].via_native - 1;

				PUSH(l->native[n], (int32_t)(200 + n), 0x2000 + n * 64);
				in_python = false;
			}
			f = graph[f * CALLEES + k].callee;
		}
		if (o->mixed && (f % 3) == 0) {
			uint64_t n = f % NR_NATIVE;

			PUSH(l->native[n], (int32_t)(300 + below(4)), 0x3000 + n * 64);
			if ((f % 9) == 0) {
				k = f % NR_KERNEL;
				PUSH(l->kernel[k], 0, 0xffffffff81000000ULL + k * 256);
			}
		}
#undef PUSH
		if (hl_map__get(seen, (uint64_t)stack, &dummy))
			continue;
		if (hl_map__set(seen, (uint64_t)stack, 1))
			return -ENOMEM;
		l->stack[l->nr] = stack;
		l->leaf_fn[l->nr] = leaf_fn;
		l->nr++;
	}
	free(graph);
	for (i = 0; i < l->nr; i++) {
		double w = 1.0 / pow((double)i + 1, 0.9);

		if (o->boost_name) {
			size_t f;

			for (f = 0; f < o->functions; f++)
				if (l->py[f] == l->leaf_fn[i] &&
				    !strcmp(l->py_name[f], o->boost_name))
					w *= o->boost;
		}
		total += w;
		l->cum[i] = total;
	}
	hl_map__free(seen);
	return 0;
}

static void layout_release(struct layout *l, size_t functions)
{
	size_t i;

	for (i = 0; l->py_name && i < functions; i++)
		free(l->py_name[i]);
	free(l->py_name);
	free(l->py);
	free(l->stack);
	free(l->leaf_fn);
	free(l->cum);
}

static size_t draw(const struct layout *l)
{
	double r = uniform() * l->cum[l->nr - 1];
	size_t lo = 0, hi = l->nr - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (l->cum[mid] < r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int parse_pair(const char *arg, const char **a, const char **b)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return -EINVAL;
	*eq = '\0';
	*a = arg;
	*b = eq + 1;
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: hotloop-synth OUT.db [--samples N] [--stacks S] [--functions F] "
		"[--depth D]\n"
		"         [--processes P] [--threads T] [--mixed] [--seed N] [--layout-seed N]\n"
		"         [--boost NAME=FACTOR] [--rename OLD=NEW] [--move NAME=FILE]\n");
	return 64;
}

int main(int argc, char **argv)
{
	struct opts o = {.samples = 10000, .stacks = 1000, .functions = 200, .depth = 12,
			 .processes = 1, .threads = 4, .seed = 1, .layout_seed = 1};
	struct hl_profile_info info = {.command = "python3 synth.py", .target_pids = "1000",
				       .host = "synth", .kernel = "6.1.0", .mode = "mixed",
				       .event = "cpu-clock", .frequency_hz = 999,
				       .start_ns = 1700000000000000000ULL};
	struct hl_profile_totals totals = {0};
	struct layout l = {0};
	struct hl_store *s;
	int64_t profile, *threads;
	uint64_t i, t;
	int err, a;

	for (a = 1; a < argc; a++) {
		const char *arg = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
		uint64_t *num = NULL;

		if (!strcmp(arg, "--mixed")) {
			o.mixed = true;
			continue;
		}
		if (arg[0] != '-') {
			o.out = arg;
			continue;
		}
		if (!v)
			return usage();
		a++;
		if (!strcmp(arg, "--samples"))
			num = &o.samples;
		else if (!strcmp(arg, "--stacks"))
			num = &o.stacks;
		else if (!strcmp(arg, "--functions"))
			num = &o.functions;
		else if (!strcmp(arg, "--depth"))
			num = &o.depth;
		else if (!strcmp(arg, "--processes"))
			num = &o.processes;
		else if (!strcmp(arg, "--threads"))
			num = &o.threads;
		else if (!strcmp(arg, "--seed"))
			num = &o.seed;
		else if (!strcmp(arg, "--layout-seed"))
			num = &o.layout_seed;
		else if (!strcmp(arg, "--boost")) {
			const char *factor;

			if (parse_pair(argv[a], &o.boost_name, &factor) ||
			    hl_parse_double(factor, 0, 1e6, &o.boost))
				return usage();
		} else if (!strcmp(arg, "--rename")) {
			if (parse_pair(argv[a], &o.rename_from, &o.rename_to))
				return usage();
		} else if (!strcmp(arg, "--move")) {
			if (parse_pair(argv[a], &o.move_name, &o.move_file))
				return usage();
		} else {
			return usage();
		}
		if (num && hl_parse_u64(v, 10, 1, UINT64_MAX / 2, num))
			return usage();
	}
	if (!o.out)
		return usage();

	s = hl_store__open(o.out, HL_STORE_CREATE | HL_STORE_TRUNCATE);
	if (!s)
		return 2;
	info.mode = o.mixed ? "mixed" : "python";
	profile = hl_store__add_profile(s, &info);
	threads = calloc(o.processes * o.threads, sizeof(*threads));
	if (profile < 0 || !threads)
		return 2;
	for (i = 0; i < o.processes; i++) {
		struct hl_process_info proc = {.pid = (uint32_t)(1000 + i),
					       .executable = "/usr/bin/python3"};
		int64_t process = hl_store__add_process(s, profile, &proc);

		for (t = 0; t < o.threads; t++) {
			char name[32];

			snprintf(name, sizeof(name), t ? "worker-%" PRIu64 : "MainThread", t);
			threads[i * o.threads + t] =
			    hl_store__add_thread(s, process, (uint32_t)(1000 + i * 100 + t), name);
		}
	}
	err = build_layout(s, &o, &l);
	if (err) {
		fprintf(stderr, "hotloop-synth: building the layout failed: %s\n", strerror(-err));
		return 2;
	}
	rng_state = o.seed * 0x9e3779b97f4a7c15ULL + 7;
	for (i = 0; i < o.samples; i++) {
		size_t k = draw(&l);
		uint64_t thread = below(o.processes * o.threads);
		int state = below(5) ? HL_STATE_GIL : HL_STATE_NO_GIL;

		err = hl_store__add_sample(s, profile, threads[thread], l.stack[k],
					   i * 1000000 / info.frequency_hz, state, 1);
		if (err)
			return 2;
		if (i % 200000 == 199999 && hl_store__commit(s))
			return 2;
	}
	totals.end_ns = info.start_ns + o.samples * 1000000000ULL / info.frequency_hz;
	totals.samples = o.samples;
	if (hl_store__finish_profile(s, profile, &totals) || hl_store__commit(s))
		return 2;
	hl_store__close(s);
	printf("%zu\n", l.nr);
	layout_release(&l, o.functions);
	free(threads);
	return 0;
}
