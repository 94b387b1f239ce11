/*
 * vfs.c - the file-system switch: registered types, mounts, the dentry
 * cache, and the path operations a bridge (nkernel's FUSE bridge) calls.
 *
 * A mount keeps its configuration (type, device, options) and, while a
 * file system serves it, an instance: a super block, its device, a tree
 * of dentries (never evicted while mounted; each holds its inode) and the
 * kernel's side of every open file and directory (struct nk_handle: the
 * path it was opened by, its flags, the instance's nk_file).
 *
 * Operations on a mount run one at a time under its lock; each ends by
 * writing back the buffers it dirtied.  If the file system fails during
 * one (its call returns the fault value while its domain is down), the
 * registration's undo (unregister_filesystem, run by recovery) throws the
 * instance away without writing anything it dirtied, and the mount waits.
 * When a type of the same name registers again (the restarted copy's
 * init), register_filesystem mounts every waiting mount of that name on
 * it, opens each handle again by its path, and the failed operation runs
 * once more: the client sees a delay, not an error (shadow drivers,
 * OSDI 2004).  A module that unregisters its type itself (cleanup_module
 * at unload) first has each mount written and its kill_sb called.
 *
 * Locks: vfs_lock (types, mounts list) is never held across a call into
 * a file system; a mount's lock is held for a whole operation, including
 * its calls into the file system.  Order: vfs_lock, then a mount's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nk/core.h"
#include "nk_vfs.h"
#include "nooks.h"
#include "nooks_runtime.h"
#include "vfs_internal.h"

#define SUPER_MAGIC	0x73757072u

enum mstate { MS_LIVE, MS_WAITING, MS_UNMOUNTING };

struct nk_dent {
	struct dentry *d;		/* the arena object */
	struct nk_dent *parent, *child, *next;
	struct inode *inode;		/* NULL until instantiated */
};

struct nk_ino {
	struct super_block *sb;
	int hashed, instantiated;
};

struct nk_handle {
	struct nk_handle *next, *prev;
	char *path;
	int flags, is_dir, stale;
	struct inode *inode;		/* of the current instance */
	struct nk_file *file;
};

struct nk_mount {
	struct nk_mount *next;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum mstate state;
	int given_up;			/* waited in vain: fail at once */
	unsigned long gen;		/* instances mounted so far */
	char type[NK_FS_NAME_MAX];
	char device[PATH_MAX];
	char opts[NK_MOUNT_DATA_MAX];
	int ro;
	struct file_system_type *fs;	/* the instance's type, while live */
	struct super_block *sb;
	struct nk_handle *handles;
};

/* file_system_type->kpriv */
struct nk_fstype {
	int registered;
};

struct dirctx {				/* dir_context->kpriv */
	int (*emit)(void *, const char *, unsigned long, unsigned, off_t);
	void *arg;
	int full;
	int have;
	char name[NK_NAME_MAX + 1];
	unsigned long ino;
	unsigned type;
};

static pthread_mutex_t vfs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct file_system_type *types[16];
static struct nk_mount *mounts;
static unsigned recovery_wait_ms = 10000;
static atomic_long nr_types, nr_mounts, nr_inodes, nr_dentries, nr_handles;
static atomic_long nr_remounts, nr_reopened, nr_retried;

void nk_vfs_set_recovery_wait(unsigned ms)
{
	recovery_wait_ms = ms;
}

/* Is the table an isolated file system's whose domain is down? */
static int table_dead(const void *table)
{
	const struct nooks_binding *b = nooks_binding_of(table);
	return b && nooks_domain_state(b->domain) == NOOKS_DOWN;
}

static int casefold(const struct nk_mount *m)
{
	return m->fs && (m->fs->fs_flags & NK_FS_CASEFOLD);
}

/* ---- objects ----------------------------------------------------------- */

static struct nk_dent *dent_new(struct nk_dent *parent, const char *name)
{
	struct nk_dent *e = calloc(1, sizeof(*e));
	struct dentry *d = e ? nooks_arena_alloc(sizeof(*d)) : NULL;
	if (!d) {
		free(e);
		return NULL;
	}
	snprintf(d->d_name, sizeof(d->d_name), "%s", name);
	d->kpriv = e;
	e->d = d;
	e->parent = parent;
	atomic_fetch_add(&nr_dentries, 1);
	return e;
}

static void inode_free(struct inode *inode)
{
	if (!inode)
		return;
	free(inode->kpriv);
	nooks_arena_free(inode);
	atomic_fetch_sub(&nr_inodes, 1);
}

static void link_child(struct nk_dent *parent, struct nk_dent *e)
{
	e->parent = parent;
	e->next = parent->child;
	parent->child = e;
}

static void unlink_child(struct nk_dent *e)
{
	if (!e->parent)
		return;
	struct nk_dent **pp = &e->parent->child;
	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	e->next = NULL;
}

/* Frees a dentry (and its inode, without telling the file system). */
static void dent_free(struct nk_dent *e)
{
	while (e->child) {
		struct nk_dent *c = e->child;
		e->child = c->next;
		dent_free(c);
	}
	inode_free(e->inode);
	nooks_arena_free(e->d);
	free(e);
	atomic_fetch_sub(&nr_dentries, 1);
}

struct file_system_type *alloc_filesystem(const char *name)
{
	if (!name || !*name || strlen(name) >= NK_FS_NAME_MAX)
		return NULL;
	struct file_system_type *fs = nooks_arena_alloc(sizeof(*fs));
	struct nk_fstype *t = fs ? calloc(1, sizeof(*t)) : NULL;
	if (!t) {
		if (fs)
			nooks_arena_free(fs);
		return NULL;
	}
	snprintf(fs->name, sizeof(fs->name), "%s", name);
	fs->kpriv = t;
	return fs;
}

void free_filesystem(struct file_system_type *fs)
{
	if (!fs)
		return;
	if (((struct nk_fstype *)fs->kpriv)->registered)
		unregister_filesystem(fs);
	free(fs->kpriv);
	nooks_arena_free(fs);
}

struct inode *new_inode(struct super_block *sb)
{
	struct nk_super *s = nk_sb(sb);
	if (!s || s->magic != SUPER_MAGIC)
		return NULL;
	struct inode *inode = nooks_arena_alloc(sizeof(*inode));
	struct nk_ino *ni = inode ? calloc(1, sizeof(*ni)) : NULL;
	if (!ni) {
		if (inode)
			nooks_arena_free(inode);
		return NULL;
	}
	ni->sb = sb;
	inode->kpriv = ni;
	inode->i_ino = ++s->next_ino;
	inode->i_nlink = 1;
	atomic_fetch_add(&nr_inodes, 1);
	return inode;
}

void iput(struct inode *inode)
{
	struct nk_ino *ni = inode ? inode->kpriv : NULL;
	if (ni && !ni->instantiated)
		inode_free(inode);
}

int insert_inode_hash(struct inode *inode)
{
	if (!inode || !inode->kpriv || !inode->i_op)
		return -EINVAL;
	((struct nk_ino *)inode->kpriv)->hashed = 1;
	return 0;
}

/* The kernel takes inode in any case (the call transfers it). */
int d_instantiate(struct dentry *dentry, struct inode *inode)
{
	struct nk_ino *ni = inode ? inode->kpriv : NULL;
	struct nk_dent *e = dentry ? dentry->kpriv : NULL;
	if (!ni || ni->instantiated)
		return -EINVAL;
	if (!e || e->inode || !ni->hashed || !inode->i_fop ||
	    (!S_ISDIR(inode->i_mode) && !S_ISREG(inode->i_mode))) {
		inode_free(inode);
		return -EINVAL;
	}
	ni->instantiated = 1;
	e->inode = inode;
	return 0;
}

int d_make_root(struct inode *root)
{
	struct nk_ino *ni = root ? root->kpriv : NULL;
	if (!ni || ni->instantiated)
		return -EINVAL;
	struct nk_super *s = nk_sb(ni->sb);
	if (!s->mounting || s->root->inode || !S_ISDIR(root->i_mode))
		return -EINVAL;
	return d_instantiate(s->root->d, root);
}

bool dir_emit(struct dir_context *ctx, const char *name, int namelen, unsigned long ino,
	      unsigned int type)
{
	struct dirctx *c = ctx ? ctx->kpriv : NULL;
	if (!c || !name || namelen <= 0 || namelen > NK_NAME_MAX || c->full)
		return false;
	if (c->have && c->emit(c->arg, c->name, c->ino, c->type, (off_t)ctx->pos)) {
		c->full = 1;
		return false;
	}
	memcpy(c->name, name, (size_t)namelen);
	c->name[namelen] = 0;
	c->ino = ino;
	c->type = type;
	c->have = 1;
	return true;
}

/* ---- registration ---------------------------------------------------------- */

static void mount_lock(struct nk_mount *m)
{
	pthread_mutex_lock(&m->lock);
}

static void mount_unlock(struct nk_mount *m)
{
	pthread_mutex_unlock(&m->lock);
}

static struct file_system_type *find_type(const char *name)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i] && !strcmp(types[i]->name, name))
			return types[i];
	return NULL;
}

static int mount_instance(struct nk_mount *m, struct file_system_type *fs, char *err,
			  size_t errlen);
static void kill_instance(struct nk_mount *m, int clean);
static void reopen_handles(struct nk_mount *m);

int register_filesystem(struct file_system_type *fs)
{
	if (!fs || !fs->kpriv || !fs->ops || !fs->ops->mount)
		return -EINVAL;
	pthread_mutex_lock(&vfs_lock);
	if (find_type(fs->name)) {
		pthread_mutex_unlock(&vfs_lock);
		return -EBUSY;
	}
	size_t i = 0;
	while (i < sizeof(types) / sizeof(types[0]) && types[i])
		i++;
	if (i == sizeof(types) / sizeof(types[0])) {
		pthread_mutex_unlock(&vfs_lock);
		return -ENOSPC;
	}
	types[i] = fs;
	((struct nk_fstype *)fs->kpriv)->registered = 1;
	atomic_fetch_add(&nr_types, 1);
	pthread_mutex_unlock(&vfs_lock);

	/* the mounts its previous instance left: mounted again now, in this
	 * call (the restarted copy's init), before requests go on */
	struct nk_mount *todo[64];
	int n = 0;
	pthread_mutex_lock(&vfs_lock);
	for (struct nk_mount *m = mounts; m && n < 64; m = m->next)
		if (m->state == MS_WAITING && !strcmp(m->type, fs->name))
			todo[n++] = m;
	pthread_mutex_unlock(&vfs_lock);
	for (int k = 0; k < n; k++) {
		struct nk_mount *m = todo[k];
		char why[160];
		mount_lock(m);
		if (m->state == MS_WAITING && !m->sb) {
			if (!mount_instance(m, fs, why, sizeof(why))) {
				reopen_handles(m);
				atomic_fetch_add(&nr_remounts, 1);
				pr_info("vfs: %s mounted again on %s (instance %lu)", m->device,
					fs->name, m->gen);
			} else {
				pr_err("vfs: %s: cannot mount it again: %s", m->device, why);
				m->given_up = 1;
			}
		}
		pthread_cond_broadcast(&m->cond);
		mount_unlock(m);
	}
	return 0;
}

int unregister_filesystem(struct file_system_type *fs)
{
	if (!fs || !fs->kpriv)
		return -EINVAL;
	/* called by its module (cleanup) or by recovery (the undo of its
	 * registration, its domain down): only the first may be called */
	int dead = table_dead(fs->ops);
	pthread_mutex_lock(&vfs_lock);
	size_t i;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i] == fs)
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		pthread_mutex_unlock(&vfs_lock);
		return -ENOENT;
	}
	types[i] = NULL;
	((struct nk_fstype *)fs->kpriv)->registered = 0;
	atomic_fetch_sub(&nr_types, 1);
	pthread_mutex_unlock(&vfs_lock);

	for (;;) {
		struct nk_mount *m;
		pthread_mutex_lock(&vfs_lock);
		for (m = mounts; m; m = m->next)
			if (m->fs == fs)
				break;
		pthread_mutex_unlock(&vfs_lock);
		if (!m)
			break;
		mount_lock(m);
		if (m->fs == fs) {
			kill_instance(m, !dead);
			m->state = MS_WAITING;
			m->given_up = 0;
			pr_warn("vfs: %s waits for a %s file system (%s)", m->device, m->type,
				dead ? "the instance failed" : "unregistered");
		}
		pthread_cond_broadcast(&m->cond);
		mount_unlock(m);
	}
	return 0;
}

/* ---- instances ---------------------------------------------------------- */

static void evict(struct nk_mount *m, struct inode *inode)
{
	if (inode && m->sb->s_op && m->sb->s_op->evict_inode)
		m->sb->s_op->evict_inode(m->sb, inode);
}

static void evict_tree(struct nk_mount *m, struct nk_dent *e)
{
	for (struct nk_dent *c = e->child; c; c = c->next)
		evict_tree(m, c);
	evict(m, e->inode);
}

/* Under m->lock: a new instance of fs on m's device. */
static int mount_instance(struct nk_mount *m, struct file_system_type *fs, char *err,
			  size_t errlen)
{
	const struct nooks_binding *bn = nooks_binding_of(fs->ops);
	struct nk_bdev *b = nk_bdev_open(m->device, m->ro, bn ? bn->domain : NULL);
	if (!b) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", m->device, strerror(e));
		return -e;
	}
	struct super_block *sb = nooks_arena_alloc(sizeof(*sb));
	struct nk_super *s = sb ? calloc(1, sizeof(*s)) : NULL;
	struct nk_dent *root = s ? dent_new(NULL, "/") : NULL;
	if (!root) {
		free(s);
		if (sb)
			nooks_arena_free(sb);
		nk_bdev_close(b, 1);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->magic = SUPER_MAGIC;
	s->mount = m;
	s->bdev = b;
	s->root = root;
	s->mounting = 1;
	sb->kpriv = s;
	sb->s_blocksize = 512;
	sb->s_bdev_size = nk_bdev_size(b);
	sb->s_flags = m->ro ? NK_SB_RDONLY : 0;
	sb->s_maxbytes = 0xffffffffLL;
	const char *base = strrchr(m->device, '/');
	snprintf(sb->s_id, sizeof(sb->s_id), "%.31s", base ? base + 1 : m->device);

	int r = fs->ops->mount(fs, sb, m->opts[0] ? m->opts : NULL, 0);
	s->mounting = 0;
	if (!r && !root->inode)
		r = -EINVAL;	/* mounted without a root */
	if (r) {
		snprintf(err, errlen, "%s: not mounted: %s", m->device, strerror(-r));
		dent_free(root);
		nk_bdev_close(b, table_dead(fs->ops));
		free(s);
		nooks_arena_free(sb);
		return r;
	}
	nk_bdev_writeback(b);
	m->fs = fs;
	m->sb = sb;
	m->state = MS_LIVE;
	m->given_up = 0;
	m->gen++;
	return 0;
}

/* Under m->lock: ends the instance.  clean: its file system is alive:
 * its files are released, its inodes evicted, kill_sb called, what it
 * dirtied written; otherwise nothing of it is called or written. */
static void kill_instance(struct nk_mount *m, int clean)
{
	struct super_block *sb = m->sb;
	struct file_system_type *fs = m->fs;
	if (!sb)
		return;
	for (struct nk_handle *h = m->handles; h; h = h->next) {
		if (h->file && clean && h->inode && h->inode->i_fop->release)
			h->inode->i_fop->release(sb, h->inode, h->file);
		if (h->file)
			nooks_arena_free(h->file);
		h->file = NULL;
		h->inode = NULL;
	}
	struct nk_super *s = nk_sb(sb);
	if (clean) {
		if (sb->s_op && sb->s_op->sync_fs)
			sb->s_op->sync_fs(sb, 1);
		evict_tree(m, s->root);
		if (fs->ops->kill_sb)
			fs->ops->kill_sb(fs, sb);
	}
	dent_free(s->root);
	nk_bdev_close(s->bdev, !clean);
	s->magic = 0;
	free(s);
	nooks_arena_free(sb);
	m->sb = NULL;
	m->fs = NULL;
}

/* ---- paths ----------------------------------------------------------------- */

static int name_eq(const struct nk_mount *m, const char *a, const char *b)
{
	return casefold(m) ? !strcasecmp(a, b) : !strcmp(a, b);
}

/* The child of dir named name, looked up by the file system if not
 * cached: 0 and *out, or -errno. */
static int lookup_child(struct nk_mount *m, struct nk_dent *dir, const char *name,
			struct nk_dent **out)
{
	if (!dir->inode || !S_ISDIR(dir->inode->i_mode))
		return -ENOTDIR;
	if (strlen(name) > NK_NAME_MAX)
		return -ENAMETOOLONG;
	for (struct nk_dent *c = dir->child; c; c = c->next)
		if (name_eq(m, c->d->d_name, name)) {
			*out = c;
			return 0;
		}
	if (!dir->inode->i_op || !dir->inode->i_op->lookup)
		return -ENOENT;
	struct nk_dent *e = dent_new(dir, name);
	if (!e)
		return -ENOMEM;
	int r = dir->inode->i_op->lookup(m->sb, dir->inode, e->d);
	if (!r && !e->inode)
		r = -EIO;
	if (r) {
		dent_free(e);
		return r;
	}
	link_child(dir, e);
	*out = e;
	return 0;
}

/* Walks path ("/a/b") from the root: 0 and *out, or -errno. */
static int walk(struct nk_mount *m, const char *path, struct nk_dent **out)
{
	struct nk_dent *e = nk_sb(m->sb)->root;
	char comp[NK_NAME_MAX + 2];
	while (*path) {
		while (*path == '/')
			path++;
		if (!*path)
			break;
		size_t n = strcspn(path, "/");
		if (n > NK_NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, path, n);
		comp[n] = 0;
		path += n;
		int r = lookup_child(m, e, comp, &e);
		if (r)
			return r;
	}
	*out = e;
	return 0;
}

/* The parent directory of path and its last component. */
static int walk_parent(struct nk_mount *m, const char *path, struct nk_dent **dir,
		       const char **name)
{
	const char *slash = strrchr(path, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	char *p = strndup(path, (size_t)(slash - path));
	if (!p)
		return -ENOMEM;
	int r = walk(m, p, dir);
	free(p);
	*name = slash + 1;
	if (!r && strlen(*name) > NK_NAME_MAX)
		r = -ENAMETOOLONG;
	if (!r && !S_ISDIR((*dir)->inode->i_mode))
		r = -ENOTDIR;
	return r;
}

/* Under m->lock: every handle opened again on the new instance. */
static void reopen_handles(struct nk_mount *m)
{
	for (struct nk_handle *h = m->handles; h; h = h->next) {
		struct nk_dent *e;
		h->stale = 1;
		if (walk(m, h->path, &e) || (!!S_ISDIR(e->inode->i_mode)) != h->is_dir)
			continue;
		struct nk_file *f = nooks_arena_alloc(sizeof(*f));
		if (!f)
			continue;
		f->f_flags = (unsigned)(h->flags & ~(O_CREAT | O_EXCL | O_TRUNC));
		if (e->inode->i_fop->open && e->inode->i_fop->open(m->sb, e->inode, f)) {
			nooks_arena_free(f);
			continue;
		}
		h->file = f;
		h->inode = e->inode;
		h->stale = 0;
		atomic_fetch_add(&nr_reopened, 1);
	}
}

/* ---- operations ----------------------------------------------------------- */

/* Locks m and waits while it has no file system, or still the instance
 * `failed` (bounded): 0 with the lock held, or -EIO without it. */
static int op_begin(struct nk_mount *m, unsigned long *gen, unsigned long failed)
{
	mount_lock(m);
	/* an instance that failed and is not torn down yet: what it dirtied
	 * must not be written by the next operation's writeback */
	if (m->state == MS_LIVE && table_dead(m->fs->ops))
		failed = m->gen;
	if ((m->state == MS_WAITING || m->gen == failed) && !m->given_up) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += recovery_wait_ms / 1000;
		until.tv_nsec += (long)(recovery_wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while ((m->state == MS_WAITING || (m->state == MS_LIVE && m->gen == failed)) &&
		       !m->given_up)
			if (pthread_cond_timedwait(&m->cond, &m->lock, &until) == ETIMEDOUT)
				m->given_up = 1;
	}
	if (m->state != MS_LIVE) {
		mount_unlock(m);
		return -EIO;
	}
	*gen = m->gen;
	return 0;
}

/* After an operation that returned r: did its file system fail in it? */
static int op_failed(struct nk_mount *m, long r, unsigned long gen)
{
	return r == -EIO && (m->state != MS_LIVE || m->gen != gen || table_dead(m->fs->ops));
}

typedef long (*op_fn)(struct nk_mount *m, void *arg);

/* Runs fn on m as described at the top. */
static long vfs_op(struct nk_mount *m, op_fn fn, void *arg)
{
	unsigned long failed = 0;	/* generations count from 1 */
	for (int attempt = 0;; attempt++) {
		unsigned long gen;
		long r = op_begin(m, &gen, failed);
		if (r)
			return r;
		r = fn(m, arg);
		if (op_failed(m, r, gen)) {
			mount_unlock(m);
			if (attempt == 0) {
				atomic_fetch_add(&nr_retried, 1);
				failed = gen;	/* op_begin waits for a new instance */
				continue;
			}
			return -EIO;
		}
		if (m->state == MS_LIVE && m->gen == gen && !table_dead(m->fs->ops) &&
		    nk_bdev_writeback(nk_sb(m->sb)->bdev) && r >= 0)
			r = -EIO;
		mount_unlock(m);
		return r;
	}
}

static void fill_stat(const struct inode *inode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = inode->i_ino;
	st->st_mode = inode->i_mode;
	st->st_nlink = inode->i_nlink ? inode->i_nlink : 1;
	st->st_size = inode->i_size;
	st->st_blksize = 4096;
	st->st_blocks = (inode->i_size + 511) / 512;
	st->st_mtime = st->st_atime = st->st_ctime = (time_t)inode->i_mtime;
}

struct path_args {
	const char *path, *path2;
	struct stat *st;
	mode_t mode;
	int flags;
	unsigned valid;
	off_t size;
	time_t mtime;
	struct nk_handle *h, **hp;
	char *buf;
	const char *cbuf;
	size_t len;
	off_t off;
	struct statvfs *sv;
	int (*emit)(void *, const char *, unsigned long, unsigned, off_t);
	void *earg;
};

static long do_getattr(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_dent *e;
	int r = walk(m, a->path, &e);
	if (!r)
		fill_stat(e->inode, a->st);
	return r;
}

int nk_vfs_getattr(struct nk_mount *m, const char *path, struct stat *st)
{
	struct path_args a = { .path = path, .st = st };
	return (int)vfs_op(m, do_getattr, &a);
}

static long do_mkdir(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_dent *dir, *e;
	const char *name;
	int r = walk_parent(m, a->path, &dir, &name);
	if (r)
		return r;
	r = lookup_child(m, dir, name, &e);
	if (r != -ENOENT)
		return r ? r : -EEXIST;
	if (m->ro)
		return -EROFS;
	if (!dir->inode->i_op->mkdir)
		return -EPERM;
	if (!(e = dent_new(dir, name)))
		return -ENOMEM;
	r = dir->inode->i_op->mkdir(m->sb, dir->inode, e->d, (unsigned)a->mode);
	if (!r && !e->inode)
		r = -EIO;
	if (r) {
		dent_free(e);
		return r;
	}
	link_child(dir, e);
	return 0;
}

int nk_vfs_mkdir(struct nk_mount *m, const char *path, mode_t mode)
{
	struct path_args a = { .path = path, .mode = mode };
	return (int)vfs_op(m, do_mkdir, &a);
}

/* After unlink/rmdir/rename-over: the dentry goes, its inode evicted;
 * handles on it become stale. */
static void drop_dent(struct nk_mount *m, struct nk_dent *e)
{
	for (struct nk_handle *h = m->handles; h; h = h->next)
		if (h->inode == e->inode) {
			if (h->file)
				nooks_arena_free(h->file);
			h->file = NULL;
			h->inode = NULL;
			h->stale = 1;
		}
	unlink_child(e);
	if (e->inode)
		e->inode->i_nlink = 0;
	evict_tree(m, e);
	dent_free(e);
}

static long do_remove(struct nk_mount *m, void *arg, int isdir)
{
	struct path_args *a = arg;
	struct nk_dent *dir, *e;
	const char *name;
	int r = walk_parent(m, a->path, &dir, &name);
	if (!r)
		r = lookup_child(m, dir, name, &e);
	if (r)
		return r;
	if (isdir && !S_ISDIR(e->inode->i_mode))
		return -ENOTDIR;
	if (!isdir && S_ISDIR(e->inode->i_mode))
		return -EISDIR;
	if (m->ro)
		return -EROFS;
	int (*fn)(struct super_block *, struct inode *, struct dentry *) =
		isdir ? dir->inode->i_op->rmdir : dir->inode->i_op->unlink;
	if (!fn)
		return -EPERM;
	r = fn(m->sb, dir->inode, e->d);
	if (!r)
		drop_dent(m, e);
	return r;
}

static long do_unlink(struct nk_mount *m, void *arg)
{
	return do_remove(m, arg, 0);
}

static long do_rmdir(struct nk_mount *m, void *arg)
{
	return do_remove(m, arg, 1);
}

int nk_vfs_unlink(struct nk_mount *m, const char *path)
{
	struct path_args a = { .path = path };
	return (int)vfs_op(m, do_unlink, &a);
}

int nk_vfs_rmdir(struct nk_mount *m, const char *path)
{
	struct path_args a = { .path = path };
	return (int)vfs_op(m, do_rmdir, &a);
}

static int is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

static long do_rename(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_dent *odir, *ndir, *src, *dst = NULL;
	const char *oname, *nname;
	int r = walk_parent(m, a->path, &odir, &oname);
	if (!r)
		r = lookup_child(m, odir, oname, &src);
	if (!r)
		r = walk_parent(m, a->path2, &ndir, &nname);
	if (r)
		return r;
	if (S_ISDIR(src->inode->i_mode))
		for (struct nk_dent *p = ndir; p; p = p->parent)
			if (p == src)
				return -EINVAL;	/* into itself */
	r = lookup_child(m, ndir, nname, &dst);
	if (r && r != -ENOENT)
		return r;
	if (r)
		dst = NULL;
	if (dst == src) {
		if (!strcmp(src->d->d_name, nname))
			return 0;
		dst = NULL;	/* a change of case */
	}
	if (dst && (a->flags & NK_RENAME_NOREPLACE))
		return -EEXIST;
	if (dst && S_ISDIR(dst->inode->i_mode) && !S_ISDIR(src->inode->i_mode))
		return -EISDIR;
	if (dst && !S_ISDIR(dst->inode->i_mode) && S_ISDIR(src->inode->i_mode))
		return -ENOTDIR;
	if (m->ro)
		return -EROFS;
	if (!odir->inode->i_op->rename)
		return -EPERM;
	struct nk_dent *target = dst ? dst : dent_new(ndir, nname);
	if (!target)
		return -ENOMEM;
	r = odir->inode->i_op->rename(m->sb, odir->inode, src->d, ndir->inode, target->d,
				      (unsigned)a->flags);
	if (!dst) {
		target->inode = NULL;	/* a name only */
		dent_free(target);
	}
	if (r)
		return r;
	if (dst)
		drop_dent(m, dst);
	unlink_child(src);
	snprintf(src->d->d_name, sizeof(src->d->d_name), "%s", nname);
	link_child(ndir, src);
	/* open handles follow their files */
	for (struct nk_handle *h = m->handles; h; h = h->next)
		if (is_under(h->path, a->path)) {
			char *p;
			if (asprintf(&p, "%s%s", a->path2, h->path + strlen(a->path)) >= 0) {
				free(h->path);
				h->path = p;
			}
		}
	return 0;
}

int nk_vfs_rename(struct nk_mount *m, const char *from, const char *to, unsigned flags)
{
	struct path_args a = { .path = from, .path2 = to, .flags = (int)flags };
	return (int)vfs_op(m, do_rename, &a);
}

static long do_setattr(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_dent *e;
	int r = walk(m, a->path, &e);
	if (r)
		return r;
	if (m->ro)
		return -EROFS;
	if ((a->valid & NK_ATTR_SIZE) && S_ISDIR(e->inode->i_mode))
		return -EISDIR;
	if (!e->inode->i_op->setattr)
		return -EPERM;
	struct iattr *ia = calloc(1, sizeof(*ia));
	if (!ia)
		return -ENOMEM;
	ia->ia_valid = a->valid;
	ia->ia_mode = (unsigned)a->mode;
	ia->ia_size = a->size;
	ia->ia_mtime = a->mtime;
	r = e->inode->i_op->setattr(m->sb, e->inode, ia);
	free(ia);
	return r;
}

int nk_vfs_setattr(struct nk_mount *m, const char *path, unsigned valid, mode_t mode,
		   off_t size, time_t mtime)
{
	struct path_args a = { .path = path, .valid = valid, .mode = mode, .size = size,
			       .mtime = mtime };
	return (int)vfs_op(m, do_setattr, &a);
}

static long do_statfs(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct kstatfs *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	int r = m->sb->s_op && m->sb->s_op->statfs ? m->sb->s_op->statfs(m->sb, k) : -ENOSYS;
	if (!r) {
		memset(a->sv, 0, sizeof(*a->sv));
		a->sv->f_bsize = a->sv->f_frsize = k->f_bsize;
		a->sv->f_blocks = k->f_blocks;
		a->sv->f_bfree = a->sv->f_bavail = k->f_bfree;
		a->sv->f_files = k->f_files;
		a->sv->f_ffree = a->sv->f_favail = k->f_ffree;
		a->sv->f_namemax = k->f_namelen;
		a->sv->f_flag = m->ro ? ST_RDONLY : 0;
	}
	free(k);
	return r;
}

int nk_vfs_statfs(struct nk_mount *m, struct statvfs *st)
{
	struct path_args a = { .sv = st };
	return (int)vfs_op(m, do_statfs, &a);
}

/* Opens e for h (under m->lock). */
static int open_dent(struct nk_mount *m, struct nk_dent *e, struct nk_handle *h)
{
	struct nk_file *f = nooks_arena_alloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->f_flags = (unsigned)(h->flags & ~(O_CREAT | O_EXCL | O_TRUNC));
	int r = e->inode->i_fop->open ? e->inode->i_fop->open(m->sb, e->inode, f) : 0;
	if (r) {
		nooks_arena_free(f);
		return r;
	}
	h->file = f;
	h->inode = e->inode;
	h->next = m->handles;
	if (m->handles)
		m->handles->prev = h;
	m->handles = h;
	atomic_fetch_add(&nr_handles, 1);
	return 0;
}

static long do_open(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_dent *e, *dir;
	const char *name;
	int r = walk(m, a->path, &e);
	if (r == -ENOENT && (a->flags & O_CREAT)) {
		if (m->ro)
			return -EROFS;
		if ((r = walk_parent(m, a->path, &dir, &name)))
			return r;
		if (!dir->inode->i_op->create)
			return -EPERM;
		if (!(e = dent_new(dir, name)))
			return -ENOMEM;
		r = dir->inode->i_op->create(m->sb, dir->inode, e->d, (unsigned)a->mode, true);
		if (!r && !e->inode)
			r = -EIO;
		if (r) {
			dent_free(e);
			return r;
		}
		link_child(dir, e);
	} else if (r) {
		return r;
	} else if ((a->flags & O_CREAT) && (a->flags & O_EXCL)) {
		return -EEXIST;
	}
	int isdir = S_ISDIR(e->inode->i_mode);
	if (isdir != !!(a->flags & O_DIRECTORY))
		return isdir ? -EISDIR : -ENOTDIR;
	if (m->ro && (a->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if ((a->flags & O_TRUNC) && !isdir && e->inode->i_size) {
		struct iattr ia = { .ia_valid = NK_ATTR_SIZE | NK_ATTR_MTIME,
				    .ia_mtime = (long long)time(NULL) };
		if (!e->inode->i_op->setattr)
			return -EPERM;
		if ((r = e->inode->i_op->setattr(m->sb, e->inode, &ia)))
			return r;
	}
	struct nk_handle *h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(a->path))) {
		free(h);
		return -ENOMEM;
	}
	h->flags = a->flags;
	h->is_dir = isdir;
	if ((r = open_dent(m, e, h))) {
		free(h->path);
		free(h);
		return r;
	}
	*a->hp = h;
	return 0;
}

int nk_vfs_open(struct nk_mount *m, const char *path, int flags, struct nk_handle **h)
{
	struct path_args a = { .path = path, .flags = flags & ~O_CREAT, .hp = h };
	return (int)vfs_op(m, do_open, &a);
}

int nk_vfs_create(struct nk_mount *m, const char *path, mode_t mode, int flags,
		  struct nk_handle **h)
{
	struct path_args a = { .path = path, .flags = flags | O_CREAT, .mode = mode, .hp = h };
	return (int)vfs_op(m, do_open, &a);
}

int nk_vfs_opendir(struct nk_mount *m, const char *path, struct nk_handle **h)
{
	struct path_args a = { .path = path, .flags = O_RDONLY | O_DIRECTORY, .hp = h };
	return (int)vfs_op(m, do_open, &a);
}

static long do_read(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_handle *h = a->h;
	if (h->stale || !h->inode)
		return -EIO;
	if (!h->inode->i_fop->read)
		return -EINVAL;
	return h->inode->i_fop->read(m->sb, h->inode, h->file, a->buf, a->len, a->off);
}

ssize_t nk_vfs_read(struct nk_mount *m, struct nk_handle *h, char *buf, size_t size, off_t off)
{
	struct path_args a = { .h = h, .buf = buf, .len = size, .off = off };
	return vfs_op(m, do_read, &a);
}

static long do_write(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_handle *h = a->h;
	if (h->stale || !h->inode)
		return -EIO;
	if (m->ro)
		return -EROFS;
	if (!h->inode->i_fop->write)
		return -EINVAL;
	off_t off = (h->flags & O_APPEND) ? (off_t)h->inode->i_size : a->off;
	return h->inode->i_fop->write(m->sb, h->inode, h->file, a->cbuf, a->len, off);
}

ssize_t nk_vfs_write(struct nk_mount *m, struct nk_handle *h, const char *buf, size_t size,
		     off_t off)
{
	struct path_args a = { .h = h, .cbuf = buf, .len = size, .off = off };
	return vfs_op(m, do_write, &a);
}

static long do_fsync(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_handle *h = a->h;
	if (h->stale || !h->inode)
		return -EIO;
	int r = h->inode->i_fop->fsync ? h->inode->i_fop->fsync(m->sb, h->inode, h->file,
							       a->flags) : 0;
	if (!r)
		r = nk_bdev_flush(nk_sb(m->sb)->bdev);
	return r;
}

int nk_vfs_fsync(struct nk_mount *m, struct nk_handle *h, int datasync)
{
	struct path_args a = { .h = h, .flags = datasync };
	return (int)vfs_op(m, do_fsync, &a);
}

int nk_vfs_release(struct nk_mount *m, struct nk_handle *h)
{
	mount_lock(m);
	if (m->state == MS_LIVE && h->file && h->inode && h->inode->i_fop->release &&
	    !table_dead(m->fs->ops))
		h->inode->i_fop->release(m->sb, h->inode, h->file);
	if (h->file)
		nooks_arena_free(h->file);
	if (h->prev)
		h->prev->next = h->next;
	else
		m->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	if (m->state == MS_LIVE && !table_dead(m->fs->ops))
		nk_bdev_writeback(nk_sb(m->sb)->bdev);
	mount_unlock(m);
	free(h->path);
	free(h);
	atomic_fetch_sub(&nr_handles, 1);
	return 0;
}

static long do_readdir(struct nk_mount *m, void *arg)
{
	struct path_args *a = arg;
	struct nk_handle *h = a->h;
	if (h->stale || !h->inode)
		return -EIO;
	if (!h->inode->i_fop->iterate)
		return -ENOTDIR;
	struct dir_context *ctx = nooks_arena_alloc(sizeof(*ctx));
	struct dirctx *c = ctx ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		if (ctx)
			nooks_arena_free(ctx);
		return -ENOMEM;
	}
	c->emit = a->emit;
	c->arg = a->earg;
	ctx->kpriv = c;
	ctx->pos = a->off;
	int r = h->inode->i_fop->iterate(m->sb, h->inode, h->file, ctx);
	if (!r && c->have && !c->full)
		c->emit(c->arg, c->name, c->ino, c->type, (off_t)ctx->pos);
	free(c);
	nooks_arena_free(ctx);
	return r;
}

int nk_vfs_readdir(struct nk_mount *m, struct nk_handle *h, off_t off,
		   int (*emit)(void *arg, const char *name, unsigned long ino, unsigned dtype,
			       off_t next),
		   void *arg)
{
	struct path_args a = { .h = h, .off = off, .emit = emit, .earg = arg };
	return (int)vfs_op(m, do_readdir, &a);
}

/* ---- mounts ----------------------------------------------------------------- */

int nk_vfs_mount(const char *type, const char *device, const char *opts, int ro,
		 struct nk_mount **out, char *err, size_t errlen)
{
	if (!type || !device || strlen(device) >= PATH_MAX ||
	    (opts && strlen(opts) >= NK_MOUNT_DATA_MAX)) {
		snprintf(err, errlen, "bad arguments");
		return -EINVAL;
	}
	struct nk_mount *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	snprintf(m->type, sizeof(m->type), "%s", type);
	snprintf(m->device, sizeof(m->device), "%s", device);
	snprintf(m->opts, sizeof(m->opts), "%s", opts ? opts : "");
	m->ro = ro;
	m->state = MS_WAITING;

	/* the type's instance is used while mounting: the module cannot
	 * unregister it meanwhile (unregister takes the mount's lock) */
	mount_lock(m);
	pthread_mutex_lock(&vfs_lock);
	struct file_system_type *fs = find_type(type);
	if (fs) {
		m->next = mounts;
		mounts = m;
	}
	pthread_mutex_unlock(&vfs_lock);
	int r;
	if (!fs) {
		snprintf(err, errlen, "no file system type '%s' is registered", type);
		r = -ENODEV;
	} else {
		r = mount_instance(m, fs, err, errlen);
	}
	mount_unlock(m);
	if (r) {
		if (fs) {
			pthread_mutex_lock(&vfs_lock);
			struct nk_mount **pp = &mounts;
			while (*pp != m)
				pp = &(*pp)->next;
			*pp = m->next;
			pthread_mutex_unlock(&vfs_lock);
		}
		pthread_mutex_destroy(&m->lock);
		pthread_cond_destroy(&m->cond);
		free(m);
		return r;
	}
	atomic_fetch_add(&nr_mounts, 1);
	*out = m;
	return 0;
}

void nk_vfs_umount(struct nk_mount *m)
{
	pthread_mutex_lock(&vfs_lock);
	struct nk_mount **pp = &mounts;
	while (*pp && *pp != m)
		pp = &(*pp)->next;
	if (*pp)
		*pp = m->next;
	pthread_mutex_unlock(&vfs_lock);
	mount_lock(m);
	if (m->sb) {
		int dead = table_dead(m->fs->ops);
		kill_instance(m, !dead);
	}
	m->state = MS_UNMOUNTING;
	pthread_cond_broadcast(&m->cond);
	while (m->handles) {
		struct nk_handle *h = m->handles;
		m->handles = h->next;
		free(h->path);
		free(h);
		atomic_fetch_sub(&nr_handles, 1);
	}
	mount_unlock(m);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
	atomic_fetch_sub(&nr_mounts, 1);
}

const char *nk_vfs_mount_state(struct nk_mount *m)
{
	return m->state == MS_LIVE ? "live" : m->given_up ? "given-up" : "waiting";
}

const char *nk_vfs_mount_type(struct nk_mount *m)
{
	return m->type;
}

const char *nk_vfs_mount_device(struct nk_mount *m)
{
	return m->device;
}

unsigned long nk_vfs_mount_generation(struct nk_mount *m)
{
	return m->gen;
}

void nk_vfs_stats(struct nk_vfs_stats *out)
{
	long waiting = 0;
	pthread_mutex_lock(&vfs_lock);
	for (struct nk_mount *m = mounts; m; m = m->next)
		waiting += m->state == MS_WAITING;
	pthread_mutex_unlock(&vfs_lock);
	out->types = atomic_load(&nr_types);
	out->mounts = atomic_load(&nr_mounts);
	out->waiting = waiting;
	out->inodes = atomic_load(&nr_inodes);
	out->dentries = atomic_load(&nr_dentries);
	out->handles = atomic_load(&nr_handles);
	out->buffers = atomic_load(&nk_nr_buffers);
	out->bheads = atomic_load(&nk_nr_bheads);
	out->bdevs = atomic_load(&nk_nr_bdevs);
	out->remounts = atomic_load(&nr_remounts);
	out->reopened = atomic_load(&nr_reopened);
	out->retried = atomic_load(&nr_retried);
}
