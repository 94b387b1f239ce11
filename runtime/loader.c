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
 *
 * No code of an isolated extension runs outside a crossing (isolating
 * backends; docs/runtime.md, "The loader"):
 *
 *  - Constructors and destructors.  ld.so would run them inside
 *    dlmopen/dlclose, as kernel code, holding its own lock.  The loader
 *    maps a private copy of the object instead (a memfd, opened as
 *    /proc/PID/fd/N) whose dynamic section has DT_INIT, DT_FINI,
 *    DT_INIT_ARRAY(SZ) and DT_FINI_ARRAY(SZ) retagged to a tag ld.so
 *    ignores, and runs the original entries itself: DT_INIT then
 *    DT_INIT_ARRAY after dlmopen, in one crossing of the domain; at a
 *    reload or unload DT_FINI_ARRAY (last first), the kept exit handlers
 *    and DT_FINI before dlclose, in one crossing of a domain made for the
 *    purpose (the extension's own may be gone: a kernel may destroy it
 *    before it unloads the object).  A constructor's fault fails the
 *    load (its holdings released, its threads ended); a destructor's is
 *    logged and the unload goes on.  Both stages have a liveness bound.
 *
 *  - Exit handlers (__cxa_atexit, on_exit) are kept here and run with the
 *    destructors; at_quick_exit is refused (extlib.c).
 *
 *  - Threads it starts itself (pthread_create, thrd_create): made here,
 *    counted against a per-extension limit, each running its start
 *    routine inside one crossing of the domain with the default deadline
 *    (so faults are the domain's, kernel calls checked, objects tracked,
 *    and recovery unwinds it).  Its join, detach, cancel and exit go
 *    through the runtime too; a joinable thread of a copy that died is
 *    detached when the copy goes, so that nothing is left behind.
 *
 * A reload restores rather than reloads where it can (contained, no
 * thread-local storage, no library of its own found through $ORIGIN):
 * the writable parts of its segments, as ld.so left them after
 * relocation and before the constructors ran, are copied at load and
 * copied back at the reload, after the old copy's destructors and exit
 * handlers ran and before the constructors run again.  The code stays
 * mapped at the same address, so nothing of dlclose, the private copy
 * and dlmopen (hundreds of microseconds) is repeated.  What the copy
 * changed outside its segments and heap (mappings of its own, libc
 * state in its namespace) survives either way.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/futex.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "extlib.h"
#include "nooks_internal.h"

/* The liveness bound of the constructors' and destructors' crossings. */
#define NK_STAGE_BOUND_MS 10000

/* How many exit handlers one extension may keep. */
#define NK_HANDLERS_MAX 1024

/* How long an unload or reload waits for threads of the extension that
 * are leaving its domain before it ends them itself. */
#define NK_LEAVE_WAIT_MS 1000

/* Libraries found through $ORIGIN that one copy may need mapped first. */
#define NK_ORIGIN_DEPS 16

struct handler {
	struct handler *next;		/* newest first */
	int kind;			/* NOOKS_ATEXIT_CXA, NOOKS_ATEXIT_ON_EXIT */
	void (*fn)(void);
	void *arg;
	void *dso;
};

struct ext_thread;

struct nooks_ext {
	struct nooks_domain *d;
	char *path;
	void *handle;		/* the extension */
	void *wrapper;		/* isolated: the wrapper library */
	Lmid_t lmid;
	struct nk_heap *heap;	/* isolated on an isolating backend */
	bool replay;		/* holds the domain's replay log open */
	/* isolated on an isolating backend: no code of it outside a crossing */
	bool contained;
	char name[64];		/* the domain's, for logs (it may go first) */
	enum nooks_backend backend;
	struct nooks_extlib_hooks *hooks;	/* in the namespace; NULL: none */
	/* the current copy (contained) */
	struct link_map *lm;
	uintptr_t lo, hi;	/* its image: exit handlers of DSOs in it are its */
	char *fd_name;		/* ld.so's name for it, while l_name is path */
	struct nk_elf_init ei;
	void *deps[NK_ORIGIN_DEPS];	/* mapped for it: found through $ORIGIN */
	int ndeps;
	/* threads it started and handlers it registered (contained) */
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* a thread left its domain or ended */
	struct ext_thread *threads;
	unsigned nthreads;	/* records: running, or ended and not joined */
	unsigned live;		/* threads not finished */
	int limit;		/* < 0: the default */
	unsigned long created, refused;
	struct handler *handlers;
	unsigned nhandlers;
	/* what the constructors' or destructors' crossing runs now, for the
	 * log when it faults ("constructor", "destructor", "exit handler") */
	const char *volatile step;
	/* the current copy's pristine writable data (restore_copy) */
	struct snap { unsigned char *at; size_t len; unsigned char *data; } *snap;
	int nsnap;
	bool no_snapshot;	/* nooks_ext_set_snapshot(e, 0) */
	bool patched;		/* its code was patched: reload, never restore */
	unsigned long restores, reloads;
	bool proc;		/* in a domain process: everything is there (proc.c) */
};

static void set_err(char *err, size_t len, const char *fmt, const char *a,
		    const char *b)
{
	if (err && len)
		snprintf(err, len, fmt, a, b ? b : "");
}

/* What constructors get, as ld.so gives it: the program's arguments
 * (saved by this constructor: glibc passes them to the program's own
 * initialisers) and the environment. */
static int prog_argc;
static char **prog_argv;
static char *no_args[] = { NULL };

__attribute__((constructor)) static void save_args(int argc, char **argv, char **envp)
{
	(void)envp;
	prog_argc = argc;
	prog_argv = argv;
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
static void allow_segments(struct nooks_domain *d, const struct link_map *lm)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)lm->l_addr;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(lm->l_addr + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			nk_tracker_allow(d, (const void *)(lm->l_addr + ph[i].p_vaddr),
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

/* The objects already in the namespace (the wrapper library, libc,
 * ld.so): their calls of malloc, pthread_create, __cxa_atexit... are
 * libc's own business.  0, or -1 if there are too many. */
static int install_residents(struct nooks_ext *e, struct nooks_extlib_heap *x)
{
	struct link_map *lm = NULL;

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
	x->nresident = n;
	return 0;
}

/* The domain's heap, made known to the wrapper library.  0, or -1 when
 * the heap cannot be made. */
static int install_heap(struct nooks_ext *e, struct nooks_extlib_heap *x)
{
	e->heap = nk_heap_new(e->d, 0);
	if (!e->heap)
		return -1;
	nk_heap_describe(e->heap, x);	/* sets x->heap last */
	return 0;
}

/* ---- the private copy ------------------------------------------------------- */

#if __SIZEOF_POINTER__ == 8
#define NK_ELFCLASS ELFCLASS64
#else
#define NK_ELFCLASS ELFCLASS32
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NK_ELFDATA ELFDATA2LSB
#else
#define NK_ELFDATA ELFDATA2MSB
#endif

/* The libraries an object needs from directories of its RUNPATH or
 * RPATH that use $ORIGIN: ld.so would take the copy's directory
 * (/proc/PID/fd) for its origin. */
struct origin_deps {
	char *path[NK_ORIGIN_DEPS];	/* found, absolute */
	char *name[NK_ORIGIN_DEPS];	/* as DT_NEEDED says */
	int n;
};

static void origin_deps_free(struct origin_deps *od)
{
	for (int i = 0; i < od->n; i++) {
		free(od->path[i]);
		free(od->name[i]);
	}
	od->n = 0;
}

/* The string at offset off of the dynamic string table (vaddr strtab,
 * strsz bytes), NULL if it is not inside the file. */
static const char *dyn_str(const unsigned char *buf, size_t size, const ElfW(Phdr) *ph,
			   int phnum, uintptr_t strtab, uintptr_t strsz, uintptr_t off)
{
	if (off >= strsz)
		return NULL;
	for (int i = 0; i < phnum; i++) {
		if (ph[i].p_type != PT_LOAD || strtab < ph[i].p_vaddr ||
		    strtab - ph[i].p_vaddr >= ph[i].p_filesz)
			continue;
		uintptr_t at = ph[i].p_offset + (strtab - ph[i].p_vaddr) + off;
		uintptr_t end = ph[i].p_offset + ph[i].p_filesz;
		if (end > size || at >= end || !memchr(buf + at, '\0', end - at))
			return NULL;
		return (const char *)buf + at;
	}
	return NULL;
}

/* dir with $ORIGIN or ${ORIGIN} replaced by origin; NULL if it has none. */
static char *expand_origin(const char *dir, size_t len, const char *origin)
{
	char out[PATH_MAX];
	size_t n = 0;
	bool found = false;

	for (size_t i = 0; i < len && n < sizeof(out) - 1;) {
		size_t skip = !strncmp(dir + i, "$ORIGIN", 7) ? 7 :
			      !strncmp(dir + i, "${ORIGIN}", 9) ? 9 : 0;
		if (skip && (i + skip == len || dir[i + skip] == '/')) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", origin);
			if (n >= sizeof(out))
				return NULL;
			i += skip;
			found = true;
		} else {
			out[n++] = dir[i++];
		}
	}
	out[n] = '\0';
	return found ? strdup(out) : NULL;
}

static void find_origin_deps(const char *path, const unsigned char *buf, size_t size,
			     const ElfW(Phdr) *ph, int phnum, const ElfW(Dyn) *dyn, size_t ndyn,
			     struct origin_deps *od)
{
	uintptr_t strtab = 0, strsz = 0;
	const char *runpath = NULL, *rpath = NULL;
	char real[PATH_MAX];

	for (size_t j = 0; j < ndyn && dyn[j].d_tag != DT_NULL; j++) {
		if (dyn[j].d_tag == DT_STRTAB)
			strtab = dyn[j].d_un.d_ptr;
		else if (dyn[j].d_tag == DT_STRSZ)
			strsz = dyn[j].d_un.d_val;
	}
	for (size_t j = 0; j < ndyn && dyn[j].d_tag != DT_NULL; j++) {
		if (dyn[j].d_tag == DT_RUNPATH)
			runpath = dyn_str(buf, size, ph, phnum, strtab, strsz, dyn[j].d_un.d_val);
		else if (dyn[j].d_tag == DT_RPATH)
			rpath = dyn_str(buf, size, ph, phnum, strtab, strsz, dyn[j].d_un.d_val);
	}
	const char *dirs = runpath ? runpath : rpath;	/* RPATH is ignored with RUNPATH */
	if (!dirs || !strstr(dirs, "ORIGIN") || !realpath(path, real))
		return;
	char *slash = strrchr(real, '/');
	if (slash)
		*(slash == real ? slash + 1 : slash) = '\0';
	for (size_t j = 0; j < ndyn && dyn[j].d_tag != DT_NULL && od->n < NK_ORIGIN_DEPS; j++) {
		if (dyn[j].d_tag != DT_NEEDED)
			continue;
		const char *need = dyn_str(buf, size, ph, phnum, strtab, strsz, dyn[j].d_un.d_val);
		if (!need || strchr(need, '/'))
			continue;
		for (const char *d = dirs; *d;) {
			size_t len = strcspn(d, ":");
			char *dir = expand_origin(d, len, real), cand[PATH_MAX];
			d += len + (d[len] == ':');
			if (!dir)
				continue;
			int fit = snprintf(cand, sizeof(cand), "%s/%s", dir, need) < (int)sizeof(cand);
			free(dir);
			if (fit && !access(cand, R_OK)) {
				od->path[od->n] = strdup(cand);
				od->name[od->n] = strdup(need);
				if (od->path[od->n] && od->name[od->n])
					od->n++;
				break;
			}
		}
	}
}

/*
 * Sets the init and fini entries of the object in buf aside (retagged:
 * ld.so runs none of them) and notes their values in ei.  0; 1 for an
 * object of another class or byte order (ld.so refuses it with its own
 * words); -1 for headers that do not fit the file.
 */
static int set_aside_init(const char *path, unsigned char *buf, size_t size,
			  struct nk_elf_init *ei, struct origin_deps *od)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)buf;
	uintptr_t init_sz = 0, fini_sz = 0;

	memset(ei, 0, sizeof(*ei));
	if (size < sizeof(*eh) || eh->e_ident[EI_CLASS] != NK_ELFCLASS ||
	    eh->e_ident[EI_DATA] != NK_ELFDATA)
		return 1;
	if (eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phoff > size ||
	    eh->e_phnum > (size - eh->e_phoff) / sizeof(ElfW(Phdr)))
		return -1;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(buf + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_DYNAMIC)
			continue;
		if (ph[i].p_offset > size || ph[i].p_filesz > size - ph[i].p_offset ||
		    ph[i].p_offset % sizeof(ElfW(Addr)))
			return -1;
		ElfW(Dyn) *dyn = (ElfW(Dyn) *)(buf + ph[i].p_offset);
		size_t n = ph[i].p_filesz / sizeof(*dyn);
		if (od)		/* before the retagging: the strings are the same */
			find_origin_deps(path, buf, size, ph, eh->e_phnum, dyn, n, od);
		for (size_t j = 0; j < n && dyn[j].d_tag != DT_NULL; j++) {
			switch (dyn[j].d_tag) {
			case DT_INIT:
				ei->init = dyn[j].d_un.d_ptr;
				break;
			case DT_FINI:
				ei->fini = dyn[j].d_un.d_ptr;
				break;
			case DT_INIT_ARRAY:
				ei->init_array = dyn[j].d_un.d_ptr;
				break;
			case DT_FINI_ARRAY:
				ei->fini_array = dyn[j].d_un.d_ptr;
				break;
			case DT_INIT_ARRAYSZ:
				init_sz = dyn[j].d_un.d_val;
				break;
			case DT_FINI_ARRAYSZ:
				fini_sz = dyn[j].d_un.d_val;
				break;
			default:
				continue;
			}
			dyn[j].d_tag = NK_DT_SET_ASIDE;
		}
		break;
	}
	if (ei->init_array)
		ei->init_n = init_sz / sizeof(ElfW(Addr));
	if (ei->fini_array)
		ei->fini_n = fini_sz / sizeof(ElfW(Addr));
	return 0;
}

static int read_all(int fd, unsigned char *buf, size_t size)
{
	for (size_t done = 0; done < size;) {
		ssize_t r = read(fd, buf + done, size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const unsigned char *buf, size_t size)
{
	for (size_t done = 0; done < size;) {
		ssize_t r = write(fd, buf + done, size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/*
 * A private copy of the object at path whose init and fini entries ld.so
 * will not run (noted in ei): a memfd, and in fdpath the name dlmopen
 * opens it by.  The descriptor, or -1 with the reason in err.
 */
static int private_copy(const char *path, struct nk_elf_init *ei, struct origin_deps *od,
			char *fdpath, size_t fdlen, char *err, size_t errlen)
{
	struct stat st;
	unsigned char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), mfd = -1;
	const char *why = NULL;

	if (fd < 0 || fstat(fd, &st)) {
		set_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (off_t)1 << 30) {
		set_err(err, errlen, "'%s' is not an ELF shared object%s", path, "");
		goto out;
	}
	size_t size = (size_t)st.st_size;
	buf = malloc(size);
	if (!buf || read_all(fd, buf, size)) {
		why = buf ? strerror(errno ? errno : EIO) : strerror(ENOMEM);
		goto fail;
	}
	if (set_aside_init(path, buf, size, ei, od) < 0) {
		set_err(err, errlen, "'%s': its program headers do not fit the file%s", path, "");
		goto out;
	}
	const char *base = strrchr(path, '/');
	mfd = memfd_create(base ? base + 1 : path, MFD_CLOEXEC);
	if (mfd < 0 || write_all(mfd, buf, size)) {
		why = strerror(errno);
		goto fail;
	}
	snprintf(fdpath, fdlen, "/proc/%d/fd/%d", (int)getpid(), mfd);
	free(buf);
	close(fd);
	return mfd;
fail:
	set_err(err, errlen, "cannot make a private copy of '%s': %s", path, why);
out:
	if (mfd >= 0)
		close(mfd);
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

int nk_private_copy(const char *path, struct nk_elf_init *ei, char *fdpath, size_t fdlen,
		    char *err, size_t errlen)
{
	return private_copy(path, ei, NULL, fdpath, fdlen, err, errlen);
}

/* dlmopen's reason, with the copy's name replaced by the object's. */
static void load_error(char *err, size_t errlen, const char *path, const char *fdpath,
		       const char *why)
{
	char msg[512];
	size_t n = 0, fl = strlen(fdpath);

	why = why ? why : "?";
	while (*why && n + 1 < sizeof(msg)) {
		if (fl && !strncmp(why, fdpath, fl)) {
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s", path);
			if (n >= sizeof(msg))
				n = sizeof(msg) - 1;
			why += fl;
		} else {
			msg[n++] = *why++;
		}
	}
	msg[n] = '\0';
	set_err(err, errlen, "cannot load '%s': %s", path, msg);
}

/* ---- the constructors' and destructors' crossings ----------------------------- */

typedef void (*init_fn)(int, char **, char **);
typedef void (*fini_fn)(void);

static void kcall(nooks_thunk fn, void *frame)
{
	if (nk_proc_in_domain()) {
		fn(frame);	/* a domain process's own bookkeeping: no kernel here */
		return;
	}
	nooks_xpc_kernel(nooks_self(), fn, frame);
}

struct pop_frame {
	struct nooks_ext *e;
	void *dso;		/* NULL: any */
	struct handler h;
	bool found;
};

/* Kernel code: takes the newest kept handler of dso (any, for NULL). */
static void pop_handler(void *p)
{
	struct pop_frame *f = p;
	struct nooks_ext *e = f->e;

	pthread_mutex_lock(&e->lock);
	for (struct handler **pp = &e->handlers; *pp; pp = &(*pp)->next) {
		struct handler *h = *pp;
		if (f->dso && h->dso != f->dso)
			continue;
		*pp = h->next;
		e->nhandlers--;
		f->h = *h;
		f->found = true;
		free(h);
		break;
	}
	pthread_mutex_unlock(&e->lock);
}

/* Extension code: runs the kept handlers of dso (NULL: all), newest
 * first, in the calling crossing. */
static void run_handlers(struct nooks_ext *e, void *dso)
{
	for (;;) {
		struct pop_frame f = { .e = e, .dso = dso };
		kcall(pop_handler, &f);
		if (!f.found)
			return;
		const char *step = e->step;
		e->step = "exit handler";
		if (f.h.kind == NOOKS_ATEXIT_ON_EXIT)
			((void (*)(int, void *))(void (*)(void))f.h.fn)(0, f.h.arg);
		else
			((void (*)(void *))(void (*)(void))f.h.fn)(f.h.arg);
		e->step = step;
	}
}

static void drop_handlers(struct nooks_ext *e)
{
	pthread_mutex_lock(&e->lock);
	while (e->handlers) {
		struct handler *h = e->handlers;
		e->handlers = h->next;
		free(h);
	}
	e->nhandlers = 0;
	pthread_mutex_unlock(&e->lock);
}

/* In the domain: DT_INIT, then DT_INIT_ARRAY in order, as ld.so would. */
static void init_thunk(void *p)
{
	struct nooks_ext *e = p;
	uintptr_t base = e->lm->l_addr;
	struct nk_elf_init ei = e->ei;
	int argc = prog_argv ? prog_argc : 0;
	char **argv = prog_argv ? prog_argv : no_args;

	e->step = "constructor";
	if (ei.init)
		((init_fn)(base + ei.init))(argc, argv, environ);
	const ElfW(Addr) *a = (const ElfW(Addr) *)(base + ei.init_array);
	for (size_t i = 0; i < ei.init_n; i++) {
		ElfW(Addr) fn = a[i];
		if (fn && fn != (ElfW(Addr))-1)
			((init_fn)fn)(argc, argv, environ);
	}
}

/* In a domain: DT_FINI_ARRAY last entry first (the object's
 * __do_global_dtors_aux calls __cxa_finalize, which runs its kept exit
 * handlers: extlib.c), the handlers still kept, then DT_FINI. */
static void fini_thunk(void *p)
{
	struct nooks_ext *e = p;
	uintptr_t base = e->lm->l_addr;
	struct nk_elf_init ei = e->ei;

	e->step = "destructor";
	const ElfW(Addr) *a = (const ElfW(Addr) *)(base + ei.fini_array);
	for (size_t i = ei.fini_n; i-- > 0;) {
		ElfW(Addr) fn = a[i];
		if (fn && fn != (ElfW(Addr))-1)
			((fini_fn)fn)();
	}
	run_handlers(e, NULL);
	e->step = "destructor";
	if (ei.fini)
		((fini_fn)(base + ei.fini))();
}

static int run_stage(struct nooks_ext *e, struct nooks_domain *d, nooks_thunk fn,
		     const char *what)
{
	nooks_bound_push(NK_STAGE_BOUND_MS, what);
	int r = nooks_xpc_ext(d, fn, e, 0);
	nooks_bound_pop();
	return r;
}

/* ---- threads the extension starts ------------------------------------------- */

static atomic_uint default_thread_limit = 64;

struct ext_thread {
	struct ext_thread *next;
	struct nooks_ext *e;
	struct nooks_domain *d;		/* whose crossing it runs in */
	void *(*start)(void *);
	void *arg;
	bool c11;			/* start returns an int */
	pthread_t tid;
	pthread_t *out;			/* the creator's, written before start */
	atomic_int entered;		/* 1: in its crossing; 2: never got in */
	atomic_int inside;		/* in its crossing, as far as it knows */
	atomic_int cancel;		/* pthread_cancel asked */
	/* its innermost cleanup buffer (C's pthread_cleanup_push): the
	 * thread's own (thread_thunk) at the bottom; each one's prev in
	 * __pad[0], where libc keeps it too */
	__pthread_unwind_buf_t *top;
	bool exited;			/* pthread_exit(exit_value) */
	void *exit_value;
	void *result;
	/* under e->lock */
	bool creating;			/* the creator has not let go of it */
	bool done;			/* finished (result final) */
	bool detached;			/* nobody will join: freed at the end */
	bool joining;
};

static __thread struct ext_thread *cur_thread;	/* on a thread of an extension */

static void futex_wait_ms(atomic_int *a, int val, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	syscall(SYS_futex, a, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(atomic_int *a)
{
	syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Under e->lock. */
static void thread_unlink(struct nooks_ext *e, struct ext_thread *t)
{
	for (struct ext_thread **pp = &e->threads; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			e->nthreads--;
			break;
		}
}

/* Under e->lock: t's record goes (in a domain process its thread may
 * then run the next one the extension starts). */
static void thread_free(struct nooks_ext *e, struct ext_thread *t)
{
	thread_unlink(e, t);
	if (nk_proc_in_domain())
		nk_proc_thread_release(t->tid);
	free(t);
}

/* Under e->lock: a record nobody needs any more goes. */
static void thread_maybe_free(struct nooks_ext *e, struct ext_thread *t)
{
	if (t->done && t->detached && !t->creating)
		thread_free(e, t);
}

/* Under e->lock: nobody will join it (detached, or its copy died). */
static void thread_orphan(struct nooks_ext *e, struct ext_thread *t)
{
	if (t->detached || t->joining)
		return;
	t->detached = true;
	if (!nk_proc_in_domain())	/* there its thread never ends */
		pthread_detach(t->tid);	/* an ended thread goes now */
	thread_maybe_free(e, t);
}

/* Under e->lock. */
static struct ext_thread *thread_find(struct nooks_ext *e, pthread_t tid)
{
	for (struct ext_thread *t = e->threads; t; t = t->next)
		if (pthread_equal(t->tid, tid))
			return t;
	return NULL;
}

static __attribute__((noinline)) void run_start(struct ext_thread *t)
{
	if (t->c11)
		t->result = (void *)(intptr_t)((int (*)(void *))(void (*)(void))t->start)(t->arg);
	else
		t->result = t->start(t->arg);
}

/* Back to a cleanup buffer of t's (the extension's, which runs its
 * handler and goes on to the next, or the thread's own at the bottom).
 * Extension mode, on the thread's extension stack. */
static void unwind_to(struct ext_thread *t, __pthread_unwind_buf_t *b)
	__attribute__((noreturn));

static void unwind_to(struct ext_thread *t, __pthread_unwind_buf_t *b)
{
	t->top = b;
	/* only the jump buffer and the mask flag (0) of a cleanup buffer
	 * are read */
	struct __jmp_buf_tag *env;
	__asm__("" : "=r"(env) : "0"(b->__cancel_jmp_buf));
	siglongjmp(env, 1);
}

/*
 * The thread's one crossing: extension code from the first line.
 * pthread_exit in its own code (not in a callback from a kernel call)
 * goes back through its cleanup handlers to the buffer set here, and
 * the crossing returns normally with the exit value as the thread's
 * result.  No unwinder: libc's would dlopen libgcc_s into the namespace,
 * which could then never be unloaded.
 */
static void thread_thunk(void *p)
{
	struct ext_thread *t = p;
	__pthread_unwind_buf_t ub;

	atomic_store(&t->inside, 1);
	*(volatile pthread_t *)t->out = pthread_self();
	t->out = NULL;
	atomic_store(&t->entered, 1);
	futex_wake(&t->entered);
	if (__sigsetjmp_cancel(ub.__cancel_jmp_buf, 0)) {
		t->top = NULL;
		t->result = t->exited ? t->exit_value : PTHREAD_CANCELED;
		atomic_store(&t->inside, 0);
		return;
	}
	ub.__pad[0] = NULL;
	t->top = &ub;
	run_start(t);
	t->top = NULL;
	atomic_store(&t->inside, 0);
}

static void *thread_main(void *p)
{
	struct ext_thread *t = p;
	struct nooks_ext *e = t->e;

	cur_thread = t;
	int r = 0;
	if (nk_proc_in_domain())
		thread_thunk(t);	/* the whole process is the domain */
	else
		r = nooks_xpc_ext(t->d, thread_thunk, t, 0);
	cur_thread = NULL;
	if (atomic_load(&t->entered) == 0) {	/* refused at the door */
		atomic_store(&t->entered, 2);
		futex_wake(&t->entered);
	}
	/* faulted, unwound or refused: no more extension code; a joiner
	 * gets PTHREAD_CANCELED */
	void *res = r ? PTHREAD_CANCELED : t->result;
	pthread_mutex_lock(&e->lock);
	atomic_store(&t->inside, 0);
	t->result = res;
	t->done = true;
	e->live--;
	thread_maybe_free(e, t);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return res;
}

struct create_frame {
	struct nooks_ext *e;
	struct nooks_domain *d;
	pthread_t *out;
	void *(*start)(void *);
	void *arg;
	bool detached, c11;
	int rc;
	pthread_t tid;
};

/* Kernel code on the creator's thread. */
static void create_kernel(void *p)
{
	struct create_frame *f = p;
	struct nooks_ext *e = f->e;
	struct ext_thread *t = NULL;
	bool first = false;

	pthread_mutex_lock(&e->lock);
	/* an ended thread nobody joined yet holds its stack: it counts */
	unsigned limit = e->limit >= 0 ? (unsigned)e->limit : atomic_load(&default_thread_limit);
	if (e->nthreads >= limit || !(t = calloc(1, sizeof(*t)))) {
		first = e->refused++ == 0;
		unsigned n = e->nthreads;
		pthread_mutex_unlock(&e->lock);
		if (first)
			nk_logf("nooks: %s: refused a thread of its own: it has %u, its limit "
				"is %u", e->name, n, limit);
		f->rc = EAGAIN;
		return;
	}
	t->e = e;
	t->d = f->d;
	t->start = f->start;
	t->arg = f->arg;
	t->c11 = f->c11;
	t->out = f->out;
	t->creating = true;
	t->detached = f->detached;
	t->next = e->threads;
	e->threads = t;
	e->nthreads++;
	e->live++;
	e->created++;
	pthread_mutex_unlock(&e->lock);

	int rc;
	if (nk_proc_in_domain()) {	/* on a channel of its own */
		rc = nk_proc_thread_start(&t->tid, thread_main, t);
	} else {
		pthread_attr_t a;
		pthread_attr_init(&a);
		if (f->detached)
			pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t->tid, &a, thread_main, t);
		pthread_attr_destroy(&a);
	}
	if (rc) {
		pthread_mutex_lock(&e->lock);
		thread_unlink(e, t);
		e->live--;
		e->refused++;
		pthread_mutex_unlock(&e->lock);
		free(t);
		f->rc = EAGAIN;
		return;
	}
	/* until it is in its crossing (or turned away): the creator is
	 * inside the domain meanwhile, so it cannot be reset, destroyed or
	 * unloaded under the new thread's feet */
	while (atomic_load(&t->entered) == 0)
		futex_wait_ms(&t->entered, 0, 1);
	pthread_mutex_lock(&e->lock);
	t->creating = false;
	f->tid = t->tid;
	if (atomic_load(&t->entered) == 2) {	/* the domain is down or full */
		f->rc = EAGAIN;
		thread_orphan(e, t);
	} else {
		f->rc = 0;
	}
	thread_maybe_free(e, t);
	pthread_mutex_unlock(&e->lock);
}

static int hook_create(void *ctx, pthread_t *out, int detached, int c11,
		       void *(*start)(void *), void *arg)
{
	struct nooks_ext *e = ctx;
	struct create_frame f = { .e = e, .d = nooks_self(), .out = out, .start = start,
				  .arg = arg, .detached = detached, .c11 = c11 };

	if (!f.d)		/* its code outside a crossing (none such now) */
		f.d = e->d;
	*(volatile pthread_t *)out = *(volatile pthread_t *)out;	/* a bad out faults here */
	kcall(create_kernel, &f);
	if (!f.rc)
		*out = f.tid;
	return f.rc;
}

struct join_frame {
	struct nooks_ext *e;
	pthread_t tid;
	int how;
	clockid_t clk;
	struct timespec at;
	int rc;
	void *result;
};

static void join_kernel(void *p)
{
	struct join_frame *f = p;
	struct nooks_ext *e = f->e;

	pthread_mutex_lock(&e->lock);
	struct ext_thread *t = thread_find(e, f->tid);
	if (!t)
		f->rc = ESRCH;
	else if (t->detached || t->joining)
		f->rc = EINVAL;
	else if (f->how == NOOKS_JOIN_TRY && !t->done)
		f->rc = EBUSY;
	else
		t->joining = true;
	pthread_mutex_unlock(&e->lock);
	if (f->rc)
		return;
	/* a thread of its domain: unwound with it if the domain fails */
	if (nk_proc_in_domain()) {	/* its thread never ends: until it is done */
		pthread_mutex_lock(&e->lock);
		while (!t->done && !f->rc) {
			if (f->how == NOOKS_JOIN_TRY)
				f->rc = EBUSY;
			else if (f->how == NOOKS_JOIN_TIMED)
				f->rc = pthread_cond_clockwait(&e->cond, &e->lock, f->clk, &f->at);
			else
				pthread_cond_wait(&e->cond, &e->lock);
		}
		if (t->done)
			f->rc = 0;
		pthread_mutex_unlock(&e->lock);
	} else if (f->how == NOOKS_JOIN_TIMED) {
		f->rc = pthread_clockjoin_np(f->tid, NULL, f->clk, &f->at);
	} else if (f->how == NOOKS_JOIN_TRY) {
		f->rc = pthread_tryjoin_np(f->tid, NULL);
	} else {
		f->rc = pthread_join(f->tid, NULL);
	}
	pthread_mutex_lock(&e->lock);
	if (f->rc) {
		t->joining = false;
	} else {
		f->result = t->result;
		thread_free(e, t);
	}
	pthread_mutex_unlock(&e->lock);
}

static int hook_join(void *ctx, pthread_t tid, void **ret, int how, clockid_t clk,
		     const struct timespec *at)
{
	struct join_frame f = { .e = ctx, .tid = tid, .how = how, .clk = clk };

	if (how == NOOKS_JOIN_TIMED)
		f.at = *at;
	if (pthread_equal(tid, pthread_self()))
		return EDEADLK;
	kcall(join_kernel, &f);
	if (!f.rc && ret)
		*ret = f.result;
	return f.rc;
}

struct tid_frame {
	struct nooks_ext *e;
	pthread_t tid;
	int rc;
};

static void detach_kernel(void *p)
{
	struct tid_frame *f = p;
	struct nooks_ext *e = f->e;

	pthread_mutex_lock(&e->lock);
	struct ext_thread *t = thread_find(e, f->tid);
	f->rc = !t ? ESRCH : t->detached || t->joining ? EINVAL : 0;
	if (!f->rc)
		thread_orphan(e, t);
	pthread_mutex_unlock(&e->lock);
}

static int hook_detach(void *ctx, pthread_t tid)
{
	struct tid_frame f = { .e = ctx, .tid = tid };
	kcall(detach_kernel, &f);
	return f.rc;
}

static void cancel_kernel(void *p)
{
	struct tid_frame *f = p;
	struct nooks_ext *e = f->e;

	pthread_mutex_lock(&e->lock);
	struct ext_thread *t = thread_find(e, f->tid);
	f->rc = t ? 0 : ESRCH;
	if (t)
		atomic_store(&t->cancel, 1);
	pthread_mutex_unlock(&e->lock);
}

/* A cancellation acting in the kernel's code (a kernel call is a
 * cancellation point) would unwind the kernel's frames: the request is
 * kept instead, and the thread acts on it at pthread_testcancel(). */
static int hook_cancel(void *ctx, pthread_t tid)
{
	struct tid_frame f = { .e = ctx, .tid = tid };
	kcall(cancel_kernel, &f);
	return f.rc;
}

/* Is the calling thread one of e's, in its own crossing (not in a
 * callback from a kernel call it made)? */
static struct ext_thread *own_thread(void)
{
	struct ext_thread *t = cur_thread;
	struct nooks_domain *d = nooks_self();

	if (!t || !d || t->d != d || nooks_caller() || !atomic_load(&t->inside))
		return NULL;
	return t;
}

static int hook_testcancel(void *ctx)
{
	struct ext_thread *t = own_thread();
	(void)ctx;
	return t && atomic_load(&t->cancel);
}

struct log_frame {
	const char *name;
	const char *what;
};

static void log_exit_kernel(void *p)
{
	struct log_frame *f = p;
	if (nk_proc_in_domain())	/* its process ends: the kernel says why */
		nk_proc_last_words("%s called in a thread it did not start", f->what);
	else
		nk_logf("nooks: %s: %s called in a thread it did not start: a fault", f->name,
			f->what);
}

static int hook_thread_exit(void *ctx, void *value)
{
	struct nooks_ext *e = ctx;
	struct ext_thread *t = own_thread();

	if (!nooks_self())
		return 0;	/* not in a crossing: libc's, as natively */
	if (t && t->top) {	/* its own thread: the crossing ends normally */
		t->exit_value = value;
		t->exited = true;
		unwind_to(t, t->top);
	}
	/* a kernel thread's threadfn, an entry point, a callback: ending
	 * the thread would unwind the kernel's frames: a fault instead */
	struct log_frame f = { e->name, "pthread_exit()" };
	kcall(log_exit_kernel, &f);
	nooks_ext_exited(0);
	return 0;
}

/*
 * C's pthread_cleanup_push/pop in a crossing.  On a thread of its own
 * (in its own crossing) the buffers are chained here, for pthread_exit.
 * In any other crossing nothing can unwind through them (pthread_exit
 * there is a fault, a cancellation is only marked): they are taken and
 * forgotten, so that libc does not keep a pointer into the extension's
 * stack in the kernel thread's descriptor after its crossing is gone.
 * Outside a crossing: libc's.
 */
static int hook_cancel_push(void *ctx, __pthread_unwind_buf_t *buf)
{
	struct ext_thread *t = own_thread();
	(void)ctx;
	if (!nooks_self())
		return 0;
	if (t && t->top) {
		buf->__pad[0] = t->top;
		t->top = buf;
	}
	return 1;
}

static int hook_cancel_pop(void *ctx, __pthread_unwind_buf_t *buf)
{
	struct ext_thread *t = own_thread();
	(void)ctx;
	if (!nooks_self())
		return 0;
	if (t && t->top)
		t->top = buf->__pad[0];
	return 1;
}

/* A cleanup handler ran (pthread_exit took it there): on to the next. */
static int hook_unwind_next(void *ctx, __pthread_unwind_buf_t *buf)
{
	struct ext_thread *t = own_thread();
	(void)ctx;
	if (!t || !t->top || !buf->__pad[0])
		return 0;
	unwind_to(t, buf->__pad[0]);
}

/* ---- exit handlers ------------------------------------------------------------ */

struct atexit_frame {
	struct nooks_ext *e;
	struct handler h;
	int rc;
};

static void atexit_kernel(void *p)
{
	struct atexit_frame *f = p;
	struct nooks_ext *e = f->e;
	struct handler *h = NULL;

	pthread_mutex_lock(&e->lock);
	if (e->nhandlers < NK_HANDLERS_MAX && (h = malloc(sizeof(*h)))) {
		*h = f->h;
		h->next = e->handlers;
		e->handlers = h;
		e->nhandlers++;
	}
	pthread_mutex_unlock(&e->lock);
	f->rc = h ? 0 : -1;
}

/* 0: kept; -1: refused; 1: another library's (one loaded with the
 * extension, which may outlive the copy): libc's, as before. */
static int hook_atexit(void *ctx, int kind, void (*fn)(void), void *arg, void *dso)
{
	struct nooks_ext *e = ctx;
	struct atexit_frame f = { .e = e, .h = { .kind = kind, .fn = fn, .arg = arg,
						 .dso = dso } };
	if (dso && ((uintptr_t)dso < e->lo || (uintptr_t)dso >= e->hi))
		return 1;
	if (!fn)
		return -1;
	kcall(atexit_kernel, &f);
	return f.rc;
}

static void hook_finalize(void *ctx, void *dso)
{
	if (nooks_self())	/* never as kernel code */
		run_handlers(ctx, dso);
}

/* Gives the wrapper library the hooks (its residents first). */
static void install_hooks(struct nooks_ext *e, struct nooks_extlib_hooks *hk)
{
	hk->create = hook_create;
	hk->join = hook_join;
	hk->detach = hook_detach;
	hk->cancel = hook_cancel;
	hk->testcancel = hook_testcancel;
	hk->thread_exit = hook_thread_exit;
	hk->cancel_push = hook_cancel_push;
	hk->cancel_pop = hook_cancel_pop;
	hk->unwind_next = hook_unwind_next;
	hk->atexit = hook_atexit;
	hk->finalize = hook_finalize;
	__atomic_store_n(&hk->ctx, e, __ATOMIC_RELEASE);
	e->hooks = hk;
}

/* ---- a copy's life -------------------------------------------------------------- */

/* What the destructors' crossing was running when it failed. */
static const char *fini_step(struct nooks_ext *e, struct nooks_domain *fd)
{
	struct nooks_domain_stats st;

	nooks_domain_stats(fd, &st);
	if (st.last_fault == NOOKS_FAULT_BOUND)
		return "its destructors";
	return strcmp(e->step ? e->step : "", "exit handler") ? "a destructor" :
		"an exit handler";
}

/* mprotect of the whole pages holding [at, at + len). */
static int protect_pages(const void *at, size_t len, int prot)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)at & ~(page - 1);
	uintptr_t hi = ((uintptr_t)at + len + page - 1) & ~(page - 1);
	return mprotect((void *)lo, hi - lo, prot);
}

static void snapshot_free(struct nooks_ext *e)
{
	for (int i = 0; i < e->nsnap; i++)
		free(e->snap[i].data);
	free(e->snap);
	e->snap = NULL;
	e->nsnap = 0;
}

/*
 * The writable parts of the copy's PT_LOAD segments, as they are now
 * (after relocation, before the constructors): nothing when the object
 * has thread-local storage (threads that outlive the copy would keep its
 * old values), needed a library of its own ($ORIGIN: its state is not
 * copied), or has a RELRO range that does not start its writable
 * segment (not laid out by a linker we know).  RELRO pages are read-only
 * by now and are left out.
 */
static void snapshot_take(struct nooks_ext *e)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)e->lm->l_addr;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(e->lm->l_addr + eh->e_phoff);
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), rlo = 0, rhi = 0;

	if (e->no_snapshot || e->ndeps)
		return;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_TLS)
			return;
		if (ph[i].p_type == PT_GNU_RELRO) {	/* as ld.so protects it */
			rlo = (e->lm->l_addr + ph[i].p_vaddr) & ~(page - 1);
			rhi = (e->lm->l_addr + ph[i].p_vaddr + ph[i].p_memsz) & ~(page - 1);
		}
	}
	if (!(e->snap = calloc(eh->e_phnum, sizeof(*e->snap))))
		return;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W) || !ph[i].p_memsz)
			continue;
		uintptr_t lo = e->lm->l_addr + ph[i].p_vaddr, hi = lo + ph[i].p_memsz;
		if (rhi > rlo && rlo < hi && rhi > lo) {	/* overlaps RELRO */
			if (rlo > lo)
				goto none;
			lo = rhi;
		}
		if (lo >= hi)
			continue;
		struct snap *sn = &e->snap[e->nsnap];
		if (!(sn->data = malloc(hi - lo)))
			goto none;
		sn->at = (unsigned char *)lo;
		sn->len = hi - lo;
		memcpy(sn->data, sn->at, sn->len);
		e->nsnap++;
	}
	if (e->nsnap)
		return;
none:
	snapshot_free(e);
}

static void unmap_copy(struct nooks_ext *e)
{
	snapshot_free(e);
	if (e->handle) {
		if (e->fd_name && e->lm) {	/* ld.so frees its own name */
			e->lm->l_name = e->fd_name;
			e->fd_name = NULL;
		}
		dlclose(e->handle);
		e->handle = NULL;
		e->lm = NULL;
		e->lo = e->hi = 0;
	}
	while (e->ndeps > 0)
		dlclose(e->deps[--e->ndeps]);
}

/* Maps what the copy needs from its $ORIGIN first, by path: ld.so then
 * finds it by its soname. */
static void map_origin_deps(struct nooks_ext *e, struct origin_deps *od)
{
	for (int i = 0; i < od->n && e->ndeps < NK_ORIGIN_DEPS; i++) {
		void *h = dlmopen(e->lmid, od->name[i], RTLD_NOW | RTLD_NOLOAD);
		if (h) {		/* there already (the wrapper library, libc) */
			dlclose(h);
			continue;
		}
		if ((h = dlmopen(e->lmid, od->path[i], RTLD_NOW | RTLD_LOCAL)))
			e->deps[e->ndeps++] = h;
		else
			dlerror();	/* the copy's load says what is missing */
	}
}

static unsigned threads_inside(struct nooks_ext *e)
{
	unsigned n = 0;
	for (struct ext_thread *t = e->threads; t; t = t->next)
		n += atomic_load(&t->inside) != 0;
	return n;
}

/*
 * No thread of e may run its code once it is unmapped.  Threads still
 * inside their crossings are given a moment to leave (recovery usually
 * unwound them just before, and a thread notes that it left a little
 * after the domain counts it out); stuck, the extension's domain, is
 * reset if they do not: the caller did not reset it, so it is alive (a
 * domain must not be destroyed with threads inside; the extension may
 * outlive its domain only once its threads are out).  Then every thread
 * of the dying copy is detached: nobody will join it.
 */
static void end_threads(struct nooks_ext *e, struct nooks_domain *stuck)
{
	struct timespec until;
	unsigned n;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += NK_LEAVE_WAIT_MS / 1000;
	until.tv_nsec += (NK_LEAVE_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&e->lock);
	while ((n = threads_inside(e))) {
		if (pthread_cond_timedwait(&e->cond, &e->lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&e->lock);
	if (n) {
		nk_logf("nooks: %s: %u of its own threads still running: ending them", e->name, n);
		nooks_domain_reset_wait(stuck, NULL);
		pthread_mutex_lock(&e->lock);
		while (threads_inside(e))
			pthread_cond_wait(&e->cond, &e->lock);
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_lock(&e->lock);
	for (struct ext_thread *t = e->threads, *next; t; t = next) {
		next = t->next;
		thread_orphan(e, t);
	}
	pthread_mutex_unlock(&e->lock);
}

/*
 * The copy's destructors and kept exit handlers, in a crossing of a
 * domain of their own (the extension's may be gone), then the copy is
 * unmapped.  A fault is logged; the unload (reload) goes on.
 */
static void fini_copy(struct nooks_ext *e, bool unloading)
{
	char why[160];

	if (e->contained)
		end_threads(e, e->d);
	nk_heap_close(e->heap);		/* the old copy's memory goes with it */
	if (e->contained && e->lm) {
		char name[80];
		snprintf(name, sizeof(name), "%.63s/fini", e->name);
		struct nooks_domain *fd = nooks_domain_create(name, e->backend);
		if (fd) {
			allow_segments(fd, e->lm);
			if (run_stage(e, fd, fini_thunk, "destructors"))
				nk_logf("nooks: %s: %s at %s faulted: %s; %s all the same",
					e->name, fini_step(e, fd), unloading ? "unload" : "reload",
					nk_fault_text(fd, why, sizeof(why)),
					unloading ? "unloading" : "reloading");
			nooks_domain_reset_wait(fd, NULL);	/* what they made */
			end_threads(e, e->d);
			nooks_domain_destroy(fd);
		} else {
			nk_logf("nooks: %s: no domain for its destructors: not run", e->name);
		}
		drop_handlers(e);
	}
}

static void retire_copy(struct nooks_ext *e, bool unloading)
{
	if (!e->handle)
		return;
	fini_copy(e, unloading);
	unmap_copy(e);
}

/* The copy's constructors, in its domain; a fault unmaps it. */
static int construct(struct nooks_ext *e, char *err, size_t errlen)
{
	char why[160];

	if (run_stage(e, e->d, init_thunk, "constructors") == 0)
		return 0;
	/* the copy is dead: what its constructors made goes, and so do
	 * their threads and handlers; the domain is up again for the next
	 * try (its fault stays recorded) */
	nk_fault_text(e->d, why, sizeof(why));
	nk_logf("nooks: %s: its constructor faulted: %s", e->name, why);
	snprintf(err, errlen, "a constructor of '%s' faulted: %s", e->path, why);
	drop_handlers(e);
	nooks_domain_reset_wait(e->d, NULL);
	end_threads(e, e->d);
	unmap_copy(e);
	nk_heap_close(e->heap);
	return -1;
}

/* A reload that keeps the mapping: the old copy's destructors and exit
 * handlers, its writable data back as it was before its constructors
 * ran, an empty heap, the constructors again. */
static int restore_copy(struct nooks_ext *e, char *err, size_t errlen)
{
	fini_copy(e, false);
	for (int i = 0; i < e->nsnap; i++) {
		/* writable as ld.so mapped it: the copy may have made its own
		 * data read-only (mprotect), and the kernel's copy must not
		 * fault */
		if (protect_pages(e->snap[i].at, e->snap[i].len, PROT_READ | PROT_WRITE)) {
			set_err(err, errlen, "cannot restore '%s': %s", e->path, strerror(errno));
			unmap_copy(e);
			return -1;
		}
		memcpy(e->snap[i].at, e->snap[i].data, e->snap[i].len);
	}
	if (e->heap && nk_heap_open(e->heap)) {
		set_err(err, errlen, "cannot give '%s' its heap%s", e->path, "");
		unmap_copy(e);
		return -1;
	}
	allow_segments(e->d, e->lm);
	e->restores++;
	return construct(e, err, errlen);
}

/* Maps a copy of the extension and, when contained, runs its
 * constructors in its domain. */
static int open_ext(struct nooks_ext *e, char *err, size_t errlen)
{
	char fdpath[64];

	if (e->heap && nk_heap_open(e->heap)) {
		set_err(err, errlen, "cannot give '%s' its heap%s", e->path, "");
		return -1;
	}
	if (!e->contained) {
		if (e->wrapper)
			e->handle = dlmopen(e->lmid, e->path, RTLD_NOW | RTLD_LOCAL);
		else
			e->handle = dlopen(e->path, RTLD_NOW | RTLD_LOCAL);
		if (!e->handle) {
			set_err(err, errlen, "cannot load '%s': %s", e->path, dlerror());
			return -1;
		}
	} else {
		struct origin_deps od = { .n = 0 };
		int fd = private_copy(e->path, &e->ei, &od, fdpath, sizeof(fdpath), err, errlen);
		if (fd < 0) {
			origin_deps_free(&od);
			return -1;
		}
		map_origin_deps(e, &od);
		origin_deps_free(&od);
		e->handle = dlmopen(e->lmid, fdpath, RTLD_NOW | RTLD_LOCAL);
		const char *fail = e->handle ? NULL : dlerror();
		close(fd);		/* the mappings keep the copy */
		if (!e->handle) {
			load_error(err, errlen, e->path, fdpath, fail);
			unmap_copy(e);
			return -1;
		}
	}
	/* its writable segments are memory it may pass to the kernel */
	struct link_map *lm = NULL;
	if (dlinfo(e->handle, RTLD_DI_LINKMAP, &lm) == 0 && lm)
		allow_segments(e->d, lm);
	if (!e->contained)
		return 0;
	if (!lm || memcmp(((const ElfW(Ehdr) *)lm->l_addr)->e_ident, ELFMAG, SELFMAG)) {
		set_err(err, errlen, "cannot load '%s': no link map%s", e->path, "");
		unmap_copy(e);
		return -1;
	}
	/* its image (exit handlers registered for a DSO in it are its) */
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)lm->l_addr;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(lm->l_addr + eh->e_phoff);
	e->lo = UINTPTR_MAX;
	e->hi = 0;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			uintptr_t a = lm->l_addr + ph[i].p_vaddr;
			e->lo = a < e->lo ? a : e->lo;
			e->hi = a + ph[i].p_memsz > e->hi ? a + ph[i].p_memsz : e->hi;
		}
	/* logs, dladdr and debuggers see the object's name, not the copy's */
	e->lm = lm;
	e->fd_name = lm->l_name;
	lm->l_name = e->path;
	snapshot_take(e);
	return construct(e, err, errlen);
}

/* ---- the interface ------------------------------------------------------------ */

static void ext_free(struct nooks_ext *e)
{
	/* the threads' last steps are the runtime's: wait for them */
	pthread_mutex_lock(&e->lock);
	while (e->threads)
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
	if (e->hooks)
		__atomic_store_n(&e->hooks->ctx, NULL, __ATOMIC_RELEASE);
	if (e->wrapper)
		dlclose(e->wrapper);
	nk_heap_free(e->heap);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e->path);
	free(e);
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
	e->backend = nooks_domain_backend(d);
	e->limit = -1;
	snprintf(e->name, sizeof(e->name), "%s", nooks_domain_name(d));
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	if (e->backend == NOOKS_BACKEND_PROCESS) {
		/* loaded in its domain process, and again by each restart;
		 * the kernel keeps the replay log */
		e->proc = true;
		if (!wrapper) {
			set_err(err, errlen, "'%s': a process domain needs the wrapper library%s",
				path, "");
		} else if (!nk_proc_ext_load(d, path, wrapper, bind, nbind, err, errlen)) {
			e->replay = !nk_replay_open(d);
			return e;
		}
		ext_free(e);
		return NULL;
	}
	if (wrapper) {
		e->wrapper = dlmopen(LM_ID_NEWLM, wrapper, RTLD_NOW | RTLD_LOCAL);
		if (!e->wrapper) {
			const char *why = dlerror();
			if (why && (strstr(why, "namespace") || strstr(why, "static TLS")))
				set_err(err, errlen, "no link namespace left for '%s' (%s)", path, why);
			else
				set_err(err, errlen, "cannot load the wrapper library: %s%s",
					why ? why : "?", "");
			ext_free(e);
			return NULL;
		}
		dlinfo(e->wrapper, RTLD_DI_LMID, &e->lmid);
		for (size_t i = 0; i < nbind; i++) {
			const void **slot = dlsym(e->wrapper, bind[i].pointer);
			if (!slot) {
				set_err(err, errlen, "the wrapper library has no '%s'%s",
					bind[i].pointer, "");
				ext_free(e);
				return NULL;
			}
			*slot = bind[i].table;
		}
		void (**exit_hook)(int) = dlsym(e->wrapper, "nooks_ext_exit_hook");
		if (exit_hook)
			*exit_hook = nooks_ext_exited;
		if (e->backend != NOOKS_BACKEND_NONE) {
			/* an older wrapper library may lack these: the extension
			 * then uses libc's malloc and threads */
			struct nooks_extlib_heap *x = dlsym(e->wrapper, "nooks_ext_heap");
			struct nooks_extlib_hooks *hk = dlsym(e->wrapper, "nooks_ext_hooks");
			e->contained = true;
			if (x && (install_residents(e, x) || install_heap(e, x))) {
				set_err(err, errlen, "cannot make a heap for '%s'%s", path, "");
				ext_free(e);
				return NULL;
			}
			if (x && hk)
				install_hooks(e, hk);
		}
	}
	/* the replay log is kept where faults are recovered from */
	e->replay = e->backend != NOOKS_BACKEND_NONE;
	if (e->replay && nk_replay_open(d)) {
		set_err(err, errlen, "out of memory loading '%s'%s", path, "");
		e->replay = false;
	} else if (!open_ext(e, err, errlen)) {
		return e;
	}
	if (e->replay)
		nk_replay_close(d);
	nk_heap_close(e->heap);
	ext_free(e);
	return NULL;
}

void *nooks_ext_sym(struct nooks_ext *e, const char *name)
{
	if (e->proc)
		return nk_proc_ext_sym(e->d, name);
	return e->handle ? dlsym(e->handle, name) : NULL;
}

int nooks_ext_reload(struct nooks_ext *e, char *err, size_t errlen)
{
	if (e->proc) {		/* the restart loaded a fresh copy */
		e->reloads++;
		return nooks_domain_state(e->d) == NOOKS_UP ? 0 :
		       (snprintf(err, errlen, "its domain process did not restart"), -1);
	}
	if (e->handle && e->contained && e->nsnap && !e->patched)
		return restore_copy(e, err, errlen);
	retire_copy(e, false);
	e->reloads++;
	e->patched = false;	/* a new copy, from the file */
	return open_ext(e, err, errlen);
}

int nooks_ext_patch(struct nooks_ext *e, uintptr_t vaddr, const void *bytes, size_t len,
		    void *old, char *err, size_t errlen)
{
	struct link_map *lm = NULL;

	if (!e->handle || dlinfo(e->handle, RTLD_DI_LINKMAP, &lm) || !lm) {
		snprintf(err, errlen, e->proc ? "not on the process backend" : "not loaded");
		return -1;
	}
	/* only code: inside one executable PT_LOAD segment */
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)lm->l_addr;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(lm->l_addr + eh->e_phoff);
	int seg = -1;
	for (int i = 0; i < eh->e_phnum && seg < 0; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) &&
		    vaddr >= ph[i].p_vaddr && len <= ph[i].p_filesz &&
		    vaddr - ph[i].p_vaddr <= ph[i].p_filesz - len)
			seg = i;
	if (!len || seg < 0) {
		snprintf(err, errlen, "%#lx..+%zu is not in the code of %s", (unsigned long)vaddr,
			 len, e->path);
		return -1;
	}
	unsigned char *at = (unsigned char *)(lm->l_addr + vaddr);
	if (protect_pages(at, len, PROT_READ | PROT_WRITE | PROT_EXEC)) {
		snprintf(err, errlen, "mprotect: %s", strerror(errno));
		return -1;
	}
	if (old)
		memcpy(old, at, len);
	memcpy(at, bytes, len);
	protect_pages(at, len, PROT_READ | PROT_EXEC);
	e->patched = true;
	return 0;
}

void nooks_ext_set_snapshot(struct nooks_ext *e, int on)
{
	e->no_snapshot = !on;
	if (!on)
		snapshot_free(e);
}

void nooks_ext_reload_stats(const struct nooks_ext *e, unsigned long *restored,
			    unsigned long *reloaded)
{
	*restored = e->restores;
	*reloaded = e->reloads;
}

/* The destructors and exit handlers of e's copy, in a domain process (the
 * kernel asks when it destroys the domain: nk_proc_ext_fini). */
void nk_ext_fini(struct nooks_ext *e)
{
	if (e && e->handle && e->lm)
		fini_thunk(e);	/* the whole process is its domain */
}

void nooks_ext_unload(struct nooks_ext *e)
{
	if (!e)
		return;
	retire_copy(e, true);
	nk_heap_close(e->heap);
	if (e->replay)
		nk_replay_close(e->d);
	ext_free(e);
}

int nooks_ext_isolated(const struct nooks_ext *e)
{
	return e->wrapper != NULL || e->proc;
}

int nooks_ext_heap_stats(const struct nooks_ext *e, struct nooks_heap_stats *out)
{
	if (!e || !e->heap)
		return -ENOENT;
	nk_heap_stats(e->heap, out);
	return 0;
}

void nooks_set_default_thread_limit(unsigned max)
{
	atomic_store(&default_thread_limit, max);
}

int nooks_ext_set_thread_limit(struct nooks_ext *e, int max)
{
	if (!e || !e->hooks)
		return -ENOENT;
	pthread_mutex_lock(&e->lock);
	e->limit = max < 0 ? -1 : max;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int nooks_ext_thread_stats(struct nooks_ext *e, struct nooks_ext_thread_stats *out)
{
	if (!e || !e->hooks)
		return -ENOENT;
	pthread_mutex_lock(&e->lock);
	out->live = e->live;
	out->unjoined = e->nthreads - e->live;
	out->created = e->created;
	out->refused = e->refused;
	out->handlers = e->nhandlers;
	pthread_mutex_unlock(&e->lock);
	return 0;
}
