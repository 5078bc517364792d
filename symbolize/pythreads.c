/* symbolize/pythreads.c — see pythreads.h. */
#include "symbolize/pythreads.h"
#include "symbolize/pyobject.h"

#include <errno.h>
#include <stdlib.h>

struct names_walk {
	const struct hl_pyreader *r;
	int (*cb)(uint64_t ident, const char *name, void *arg);
	void *arg;
	unsigned seen;
	int ret; /* what the caller's callback returned, when it stopped the walk */
};

static int name_one(uint64_t key, uint64_t thread, void *arg)
{
	struct names_walk *w = arg;
	uint64_t name_obj;
	int64_t ident;
	char *name;
	int ret;

	if (++w->seen > HL_PYTHREADS_MAX)
		return 1;
	/* Anything unreadable here is one torn or odd entry, not a reason to lose the
	 * names of the other threads. */
	if (hl_pyobj_read_long(w->r, key, &ident) || ident <= 0 ||
	    hl_pyobj_getattr(w->r, thread, "_name", &name_obj) ||
	    hl_pyobj_read_str(w->r, name_obj, &name))
		return 0;
	ret = w->cb((uint64_t)ident, name, w->arg);
	free(name);
	if (ret) {
		w->ret = ret;
		return 1;
	}
	return 0;
}

int hl_python_thread_names(const struct hl_python *py,
			   int (*cb)(uint64_t ident, const char *name, void *arg), void *arg)
{
	struct hl_pyreader r = {.pid = py->pid, .ver = &py->ver};
	struct names_walk w = {.r = &r, .cb = cb, .arg = arg};
	uint64_t active;
	int err;

	if (!py->runtime)
		return -EINVAL;
	err = hl_pyobj_module_global(&r, py->runtime, "threading", "_active", &active);
	if (err)
		return err;
	err = hl_pyobj_dict_for_each(&r, active, name_one, &w);
	if (err < 0)
		return err;
	return w.ret < 0 ? w.ret : 0;
}
