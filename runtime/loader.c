/*
 * loader.c - loading an unmodified extension object, natively or isolated.
 *
 * Native: dlopen() into the kernel's namespace; the extension's imports of
 * the kernel API bind to the kernel itself.  Isolated: a new link
 * namespace (dlmopen) that first receives the wrapper library, a shared
 * object carrying the kernel API library's soname and built from the
 * generated stubs; the extension, loaded next into the same namespace,
 * finds its DT_NEEDED library already there and binds to the stubs.  The
 * namespace cannot see the kernel's symbols, so the loader hands each
 * stub table pointer (nooks_stubs_IFACE) the kernel's table of wrappers
 * and the exit hook (extlib.c) the runtime's exit handler.  A reload after
 * a fault closes only the extension: the namespace, its libc and the
 * wrapper library stay, since glibc cannot unload a namespace's libc and
 * namespaces are few (about a dozen).
 *
 * On an isolating backend an isolated extension also gets a heap of its
 * own (heap.c): the loader tells the wrapper library (extlib.c) where it
 * is and which objects of the namespace are resident (there before the
 * extension: their malloc calls stay libc's).  The heap is opened for
 * each copy of the extension before it is mapped (its constructors may
 * allocate), closed (emptied) before a copy is unmapped and when the
 * domain's holdings are released, and unmapped with the extension.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extlib.h"
#include "nooks_internal.h"

struct nooks_ext {
	struct nooks_domain *d;
	char *path;
	void *handle;		/* the extension */
	void *wrapper;		/* isolated: the wrapper library */
	Lmid_t lmid;
	struct nk_heap *heap;	/* isolated on an isolating backend */
	bool replay;		/* holds the domain's replay log open */
};

static void set_err(char *err, size_t len, const char *fmt, const char *a,
		    const char *b)
{
	if (err && len)
		snprintf(err, len, fmt, a, b ? b : "");
}

/* A clear reason before dlopen's own: missing, unreadable, not ELF. */
static int precheck(const char *path, char *err, size_t errlen)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		set_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, magic, sizeof(magic));
	close(fd);
	if (n != 4 || memcmp(magic, "\177ELF", 4) != 0) {
		set_err(err, errlen, "'%s' is not an ELF shared object%s", path, "");
		return -1;
	}
	return 0;
}

/* Its PT_LOAD segments (readable; writable where the segment is), read
 * from the program headers mapped with the object (dl_iterate_phdr sees
 * only the caller's namespace): the extension may pass its string
 * constants and tables to the kernel as well as its data. */
static void allow_segments(struct nooks_ext *e, const struct link_map *lm)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)lm->l_addr;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(lm->l_addr + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			nk_tracker_allow(e->d, (const void *)(lm->l_addr + ph[i].p_vaddr),
					 ph[i].p_memsz, (ph[i].p_flags & PF_W) != 0);
}

/* The executable extent of a mapped object, from its program headers. */
static int code_range(const struct link_map *lm, uintptr_t *lo, uintptr_t *hi)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)lm->l_addr;

	*lo = UINTPTR_MAX;
	*hi = 0;
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return -1;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(lm->l_addr + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
			uintptr_t a = lm->l_addr + ph[i].p_vaddr;
			if (a < *lo)
				*lo = a;
			if (a + ph[i].p_memsz > *hi)
				*hi = a + ph[i].p_memsz;
		}
	return *hi ? 0 : -1;
}

/* The domain's heap, made known to the wrapper library together with the
 * objects already in the namespace (whose allocations stay libc's).
 * 0, or -1 when the heap cannot be made (the wrapper library may lack
 * nooks_ext_heap: an older one; the extension then uses libc's malloc). */
static int install_heap(struct nooks_ext *e)
{
	struct nooks_extlib_heap *x = dlsym(e->wrapper, "nooks_ext_heap");
	struct link_map *lm = NULL;

	if (!x)
		return 0;
	if (dlinfo(e->wrapper, RTLD_DI_LINKMAP, &lm) || !lm)
		return -1;
	while (lm->l_prev)
		lm = lm->l_prev;
	unsigned n = 0;
	for (; lm; lm = lm->l_next) {
		uintptr_t lo, hi;
		if (code_range(lm, &lo, &hi))
			continue;
		if (n == NOOKS_EXTLIB_RESIDENT)
			return -1;
		x->resident[n][0] = lo;
		x->resident[n][1] = hi;
		n++;
	}
	e->heap = nk_heap_new(e->d, 0);
	if (!e->heap)
		return -1;
	x->nresident = n;
	nk_heap_describe(e->heap, x);	/* sets x->heap last */
	return 0;
}

static int open_ext(struct nooks_ext *e, char *err, size_t errlen)
{
	if (e->heap && nk_heap_open(e->heap)) {
		set_err(err, errlen, "cannot give '%s' its heap%s", e->path, "");
		return -1;
	}
	if (e->wrapper)
		e->handle = dlmopen(e->lmid, e->path, RTLD_NOW | RTLD_LOCAL);
	else
		e->handle = dlopen(e->path, RTLD_NOW | RTLD_LOCAL);
	if (!e->handle) {
		set_err(err, errlen, "cannot load '%s': %s", e->path, dlerror());
		return -1;
	}
	/* its writable segments are memory it may pass to the kernel */
	struct link_map *lm = NULL;
	if (dlinfo(e->handle, RTLD_DI_LINKMAP, &lm) == 0 && lm)
		allow_segments(e, lm);
	return 0;
}

struct nooks_ext *nooks_ext_load(struct nooks_domain *d, const char *path,
				 const char *wrapper,
				 const struct nooks_stub_binding *bind, size_t nbind,
				 char *err, size_t errlen)
{
	struct nooks_ext *e;

	if (precheck(path, err, errlen) || (wrapper && precheck(wrapper, err, errlen)))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		set_err(err, errlen, "out of memory loading '%s'%s", path, "");
		return NULL;
	}
	e->d = d;
	if (wrapper) {
		e->wrapper = dlmopen(LM_ID_NEWLM, wrapper, RTLD_NOW | RTLD_LOCAL);
		if (!e->wrapper) {
			const char *why = dlerror();
			if (why && (strstr(why, "namespace") || strstr(why, "static TLS")))
				set_err(err, errlen, "no link namespace left for '%s' (%s)", path, why);
			else
				set_err(err, errlen, "cannot load the wrapper library: %s%s",
					why ? why : "?", "");
			free(e->path);
			free(e);
			return NULL;
		}
		dlinfo(e->wrapper, RTLD_DI_LMID, &e->lmid);
		for (size_t i = 0; i < nbind; i++) {
			const void **slot = dlsym(e->wrapper, bind[i].pointer);
			if (!slot) {
				set_err(err, errlen, "the wrapper library has no '%s'%s",
					bind[i].pointer, "");
				dlclose(e->wrapper);
				free(e->path);
				free(e);
				return NULL;
			}
			*slot = bind[i].table;
		}
		void (**exit_hook)(int) = dlsym(e->wrapper, "nooks_ext_exit_hook");
		if (exit_hook)
			*exit_hook = nooks_ext_exited;
		if (nooks_domain_backend(d) != NOOKS_BACKEND_NONE && install_heap(e)) {
			set_err(err, errlen, "cannot make a heap for '%s'%s", path, "");
			dlclose(e->wrapper);
			free(e->path);
			free(e);
			return NULL;
		}
	}
	/* the replay log is kept where faults are recovered from */
	e->replay = nooks_domain_backend(d) != NOOKS_BACKEND_NONE;
	if (e->replay && nk_replay_open(d)) {
		set_err(err, errlen, "out of memory loading '%s'%s", path, "");
		e->replay = false;
	} else if (!open_ext(e, err, errlen)) {
		return e;
	}
	if (e->replay)
		nk_replay_close(d);
	nk_heap_close(e->heap);
	if (e->wrapper)
		dlclose(e->wrapper);
	nk_heap_free(e->heap);
	free(e->path);
	free(e);
	return NULL;
}

void *nooks_ext_sym(struct nooks_ext *e, const char *name)
{
	return dlsym(e->handle, name);
}

int nooks_ext_reload(struct nooks_ext *e, char *err, size_t errlen)
{
	nk_heap_close(e->heap);		/* the old copy's memory goes with it */
	if (e->handle)
		dlclose(e->handle);
	e->handle = NULL;
	return open_ext(e, err, errlen);
}

void nooks_ext_unload(struct nooks_ext *e)
{
	if (!e)
		return;
	nk_heap_close(e->heap);
	if (e->handle)
		dlclose(e->handle);
	if (e->wrapper)
		dlclose(e->wrapper);
	nk_heap_free(e->heap);
	if (e->replay)
		nk_replay_close(e->d);
	free(e->path);
	free(e);
}

int nooks_ext_isolated(const struct nooks_ext *e)
{
	return e->wrapper != NULL;
}

int nooks_ext_heap_stats(const struct nooks_ext *e, struct nooks_heap_stats *out)
{
	if (!e || !e->heap)
		return -ENOENT;
	nk_heap_stats(e->heap, out);
	return 0;
}
