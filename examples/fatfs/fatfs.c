/*
 * fatfs - a FAT12/16/32 file system with long file names (VFAT) for the
 * nk kernel, after Linux's fat/vfat: one of the extensions Nooks isolated.
 *
 * Written against the nk API only (nk/vfs.h, nk/blkdev.h): the device is
 * read and written through the kernel's buffer cache, inodes and dentries
 * are the kernel's.  The same .so runs natively or isolated.
 *
 *   nkernel fatfs.so [type=vfat]
 *   nkctl mount vfat IMAGE DIR
 *
 * Layout: the boot sector gives the geometry; the FAT type follows from
 * it as in Linux (no 16-bit FAT length: FAT32; else fewer than 4085
 * clusters: FAT12).  Every FAT copy is written
 * (unless FAT32 mirroring is off), the FSInfo sector's free count kept.
 * A directory is a run of 32-byte entries (the FAT12/16 root a fixed
 * region, any other a cluster chain); a long name is a run of LFN
 * entries (13 UCS-2 characters each, last first) before its short entry,
 * tied to it by a checksum.  A name that is not an upper-case 8.3 name
 * gets long entries and a generated short name (BASE~N.EXT).  Names
 * compare ignoring ASCII case, as FAT's do.  An inode's private part
 * records its first cluster and where its short entry is (i_pos, the
 * byte offset of the entry on the device), hashed by i_pos as in Linux,
 * so that a rename can move it.  Times are UTC.
 *
 * Built with -DFATFS_FAT12_STRADDLE it has a classic FAT12 bug: a 12-bit
 * entry whose two bytes straddle two FAT sectors (cluster 341 is the
 * first, at byte 511) is read and written as if both bytes were in the
 * first sector: one byte past the end of the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NK_FAULT_INJECTION	/* nkctl inject: see nk/module.h */
#include "nk/blkdev.h"
#include "nk/core.h"
#include "nk/module.h"
#include "nk/vfs.h"

#define ATTR_RO		0x01
#define ATTR_HIDDEN	0x02
#define ATTR_SYS	0x04
#define ATTR_VOLUME	0x08
#define ATTR_DIR	0x10
#define ATTR_ARCH	0x20
#define ATTR_LFN	0x0f
#define LCASE_BASE	0x08
#define LCASE_EXT	0x10
#define DELETED		0xe5
#define IHASH		256
#define BOUNCE		(128 * 1024)

struct fat_de {			/* a short directory entry */
	uint8_t name[11];
	uint8_t attr, lcase, ctime_cs;
	uint16_t ctime, cdate, adate, starthi, time, date, start;
	uint32_t size;
} __attribute__((packed));

struct fat_lfn {		/* a long-name entry */
	uint8_t id;
	uint8_t name0_4[10];
	uint8_t attr, reserved, alias_checksum;
	uint8_t name5_10[12];
	uint16_t start;
	uint8_t name11_12[4];
} __attribute__((packed));

struct fat_inode {		/* inode->i_private */
	unsigned long start;	/* first cluster, 0: none */
	long long i_pos;	/* its short entry on the device; 0: the root */
	int dir, unlinked;
	uint8_t attr;
	unsigned long cache_idx, cache_clus;	/* a position in its chain */
	struct fat_inode *hnext;
};

struct fat_sb {			/* sb->s_fs_info */
	unsigned sec_size, sec_per_clus, clus_size, bits, nfats, fat_len;
	sector_t fat_start, root_start, data_start, fsinfo;
	unsigned root_secs;
	unsigned long nclusters, root_cluster, eoc, next_free;
	long free_count;
	int mirror;
	unsigned active;
	struct fat_inode *ihash[IHASH];
};

static struct file_system_type *fatfs;
static char type_name[NK_FS_NAME_MAX] = "vfat";

static const struct super_operations fat_sops;
static const struct inode_operations fat_dir_iops, fat_file_iops;
static const struct file_operations fat_dir_fops, fat_file_fops;

static struct fat_sb *FSB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static struct fat_inode *FI(struct inode *inode)
{
	return inode->i_private;
}

/* ---- the FAT -------------------------------------------------------------- */

static int valid_clus(struct fat_sb *s, unsigned long c)
{
	return c >= 2 && c < s->nclusters + 2;
}

static sector_t clus_sector(struct fat_sb *s, unsigned long c)
{
	return s->data_start + (sector_t)(c - 2) * s->sec_per_clus;
}

/* Entry n of FAT copy `copy`: 0 and *val, or -EIO. */
static int ent_get_copy(struct super_block *sb, unsigned copy, unsigned long n,
			unsigned long *val)
{
	struct fat_sb *s = FSB(sb);
	unsigned long off = s->bits == 12 ? n + n / 2 : n * (s->bits / 8);
	sector_t sec = s->fat_start + (sector_t)copy * s->fat_len + off / s->sec_size;
	unsigned o = (unsigned)(off % s->sec_size);
	struct buffer_head *bh = sb_bread(sb, sec);
	if (!bh)
		return -EIO;
	uint8_t *p = (uint8_t *)bh->b_data;
	if (s->bits == 12) {
		unsigned lo = p[o], hi;
#ifndef FATFS_FAT12_STRADDLE
		if (o == s->sec_size - 1) {
			struct buffer_head *bh2 = sb_bread(sb, sec + 1);
			if (!bh2) {
				brelse(bh);
				return -EIO;
			}
			hi = (uint8_t)bh2->b_data[0];
			brelse(bh2);
		} else
#endif
			hi = p[o + 1];
		unsigned w = lo | hi << 8;
		*val = n & 1 ? w >> 4 : w & 0xfff;
	} else if (s->bits == 16) {
		*val = p[o] | (unsigned)p[o + 1] << 8;
	} else {
		*val = (p[o] | (unsigned long)p[o + 1] << 8 | (unsigned long)p[o + 2] << 16 |
			(unsigned long)p[o + 3] << 24) & 0x0fffffff;
	}
	brelse(bh);
	return 0;
}

static int ent_get(struct super_block *sb, unsigned long n, unsigned long *val)
{
	return ent_get_copy(sb, FSB(sb)->active, n, val);
}

static int ent_set_copy(struct super_block *sb, unsigned copy, unsigned long n,
			unsigned long val)
{
	struct fat_sb *s = FSB(sb);
	unsigned long off = s->bits == 12 ? n + n / 2 : n * (s->bits / 8);
	sector_t sec = s->fat_start + (sector_t)copy * s->fat_len + off / s->sec_size;
	unsigned o = (unsigned)(off % s->sec_size);
	struct buffer_head *bh = sb_bread(sb, sec), *bh2 = NULL;
	if (!bh)
		return -EIO;
	uint8_t *p = (uint8_t *)bh->b_data;
	if (s->bits == 12) {
		uint8_t *hi = &p[o + 1];
#ifndef FATFS_FAT12_STRADDLE
		if (o == s->sec_size - 1) {
			if (!(bh2 = sb_bread(sb, sec + 1))) {
				brelse(bh);
				return -EIO;
			}
			hi = (uint8_t *)bh2->b_data;
		}
#endif
		if (n & 1) {
			p[o] = (uint8_t)((p[o] & 0x0f) | (val & 0x0f) << 4);
			*hi = (uint8_t)(val >> 4);
		} else {
			p[o] = (uint8_t)val;
			*hi = (uint8_t)((*hi & 0xf0) | ((val >> 8) & 0x0f));
		}
	} else if (s->bits == 16) {
		p[o] = (uint8_t)val;
		p[o + 1] = (uint8_t)(val >> 8);
	} else {
		val = (val & 0x0fffffff) | (p[o + 3] & 0xf0ul) << 24;
		for (int i = 0; i < 4; i++)
			p[o + i] = (uint8_t)(val >> (8 * i));
	}
	mark_buffer_dirty(bh);
	brelse(bh);
	if (bh2) {
		mark_buffer_dirty(bh2);
		brelse(bh2);
	}
	return 0;
}

static int ent_set(struct super_block *sb, unsigned long n, unsigned long val)
{
	struct fat_sb *s = FSB(sb);
	for (unsigned c = 0; c < s->nfats; c++)
		if (s->mirror || c == s->active) {
			int r = ent_set_copy(sb, c, n, val);
			if (r)
				return r;
		}
	return 0;
}

static void fsinfo_update(struct super_block *sb)
{
	struct fat_sb *s = FSB(sb);
	if (!s->fsinfo)
		return;
	struct buffer_head *bh = sb_bread(sb, s->fsinfo);
	if (!bh)
		return;
	uint8_t *p = (uint8_t *)bh->b_data;
	if (!memcmp(p, "RRaA", 4) && !memcmp(p + 484, "rrAa", 4)) {
		uint32_t v[2] = { (uint32_t)s->free_count, (uint32_t)s->next_free };
		memcpy(p + 488, v, sizeof(v));
		mark_buffer_dirty(bh);
	}
	brelse(bh);
}

/* A free cluster, made the end of a chain (after prev, when not 0). */
static long alloc_cluster(struct super_block *sb, unsigned long prev)
{
	struct fat_sb *s = FSB(sb);
	unsigned long c = s->next_free, v;
	if (s->free_count == 0)
		return -ENOSPC;
	for (unsigned long i = 0; i < s->nclusters; i++, c++) {
		if (!valid_clus(s, c))
			c = 2;
		if (ent_get(sb, c, &v))
			return -EIO;
		if (v)
			continue;
		if (ent_set(sb, c, s->eoc) || (prev && ent_set(sb, prev, c)))
			return -EIO;
		if (s->free_count > 0)
			s->free_count--;
		s->next_free = c + 1;
		fsinfo_update(sb);
		return (long)c;
	}
	s->free_count = 0;
	return -ENOSPC;
}

static void free_chain(struct super_block *sb, unsigned long c)
{
	struct fat_sb *s = FSB(sb);
	unsigned long next, n = 0;
	while (valid_clus(s, c) && n++ <= s->nclusters) {
		if (ent_get(sb, c, &next) || ent_set(sb, c, 0))
			break;
		s->free_count++;
		c = next;
	}
	fsinfo_update(sb);
}

/* Zeroes cluster c (new directory clusters). */
static int zero_cluster(struct super_block *sb, unsigned long c)
{
	struct fat_sb *s = FSB(sb);
	for (unsigned i = 0; i < s->sec_per_clus; i++) {
		struct buffer_head *bh = sb_getblk(sb, clus_sector(s, c) + i);
		if (!bh)
			return -EIO;
		memset(bh->b_data, 0, bh->b_size);
		mark_buffer_dirty(bh);
		brelse(bh);
	}
	return 0;
}

/* The idx-th cluster of fi's chain: > 1, 0 past its end, -EIO. */
static long bmap(struct super_block *sb, struct fat_inode *fi, unsigned long idx)
{
	struct fat_sb *s = FSB(sb);
	unsigned long i = 0, c = fi->start;
	if (!valid_clus(s, c))
		return 0;
	if (fi->cache_clus && fi->cache_idx <= idx) {
		i = fi->cache_idx;
		c = fi->cache_clus;
	}
	while (i < idx) {
		unsigned long next;
		if (ent_get(sb, c, &next))
			return -EIO;
		if (!valid_clus(s, next))
			return 0;
		c = next;
		i++;
	}
	fi->cache_idx = idx;
	fi->cache_clus = c;
	return (long)c;
}

/* Makes fi's chain at least n clusters long. */
static int extend(struct super_block *sb, struct fat_inode *fi, unsigned long n)
{
	struct fat_sb *s = FSB(sb);
	unsigned long have = 0, last = 0;
	if (!n)
		return 0;
	if (valid_clus(s, fi->start)) {
		/* walk to the end from the cached position */
		unsigned long i = 0, c = fi->start, next;
		if (fi->cache_clus) {
			i = fi->cache_idx;
			c = fi->cache_clus;
		}
		for (;;) {
			if (ent_get(sb, c, &next))
				return -EIO;
			if (!valid_clus(s, next))
				break;
			c = next;
			i++;
		}
		have = i + 1;
		last = c;
	}
	/* the cache stays where reads and writes are: before the new part */
	while (have < n) {
		long c = alloc_cluster(sb, last);
		if (c < 0)
			return (int)c;
		if (!last)
			fi->start = (unsigned long)c;
		last = (unsigned long)c;
		have++;
	}
	return 0;
}

/* Cuts fi's chain to n clusters. */
static int shorten(struct super_block *sb, struct fat_inode *fi, unsigned long n)
{
	struct fat_sb *s = FSB(sb);
	fi->cache_clus = fi->cache_idx = 0;
	if (!valid_clus(s, fi->start))
		return 0;
	if (n == 0) {
		free_chain(sb, fi->start);
		fi->start = 0;
		return 0;
	}
	long c = bmap(sb, fi, n - 1);
	unsigned long next;
	if (c <= 0)
		return c < 0 ? (int)c : 0;
	if (ent_get(sb, (unsigned long)c, &next) || ent_set(sb, (unsigned long)c, s->eoc))
		return -EIO;
	if (valid_clus(s, next))
		free_chain(sb, next);
	return 0;
}

static unsigned long chain_len(struct super_block *sb, unsigned long c)
{
	struct fat_sb *s = FSB(sb);
	unsigned long n = 0, next;
	while (valid_clus(s, c) && n <= s->nclusters) {
		n++;
		if (ent_get(sb, c, &next))
			break;
		c = next;
	}
	return n;
}

/* ---- names and times ---------------------------------------------------- */

/* Sets de's modification date and time to t. */
static void fat_time(long long t, struct fat_de *de)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	if (tm.tm_year < 80) {
		de->date = (0 << 9) | (1 << 5) | 1;
		de->time = 0;
		return;
	}
	de->date = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
	de->time = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
}

static long long unix_time(uint16_t date, uint16_t tim)
{
	struct tm tm = {
		.tm_year = (date >> 9) + 80, .tm_mon = ((date >> 5) & 15) - 1,
		.tm_mday = date & 31, .tm_hour = tim >> 11, .tm_min = (tim >> 5) & 63,
		.tm_sec = (tim & 31) * 2,
	};
	if (tm.tm_mon < 0)
		tm.tm_mon = 0;
	if (!tm.tm_mday)
		tm.tm_mday = 1;
	return (long long)timegm(&tm);
}

static unsigned long de_start(struct fat_sb *s, const struct fat_de *de)
{
	return de->start | (s->bits == 32 ? (unsigned long)de->starthi << 16 : 0);
}

static void de_set_start(struct fat_de *de, unsigned long c)
{
	de->start = (uint16_t)c;
	de->starthi = (uint16_t)(c >> 16);
}

static uint8_t lfn_checksum(const uint8_t *name)
{
	uint8_t sum = 0;
	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name[i]);
	return sum;
}

/* The short name as shown: "NAME.EXT", lower-cased where lcase says. */
static void short_display(const struct fat_de *de, char *out)
{
	int n = 0;
	for (int i = 0; i < 8 && de->name[i] != ' '; i++) {
		char c = (char)(i == 0 && de->name[0] == 0x05 ? 0xe5 : de->name[i]);
		out[n++] = (de->lcase & LCASE_BASE) && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	if (de->name[8] != ' ') {
		out[n++] = '.';
		for (int i = 8; i < 11 && de->name[i] != ' '; i++) {
			char c = (char)de->name[i];
			out[n++] = (de->lcase & LCASE_EXT) && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
	}
	out[n] = 0;
}

static int utf8_put(unsigned c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | c >> 12);
	out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[2] = (char)(0x80 | (c & 0x3f));
	return 3;
}

/* name in UCS-2 (BMP only): its length, or -EINVAL. */
static int to_ucs2(const char *name, uint16_t *out, int max)
{
	const unsigned char *p = (const unsigned char *)name;
	int n = 0;
	while (*p) {
		unsigned c;
		if (*p < 0x80) {
			c = *p++;
		} else if ((*p & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
			c = (p[0] & 0x1fu) << 6 | (p[1] & 0x3f);
			p += 2;
		} else if ((*p & 0xf0) == 0xe0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
			c = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3f);
			p += 3;
		} else {
			return -EINVAL;
		}
		if (n == max || c < 0x20 || strchr("\"*/:<>?\\|", (int)c))
			return -EINVAL;
		out[n++] = (uint16_t)c;
	}
	return n;
}

static int short_char_ok(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'()-@^_`{}~", c));
}

/* An upper-case 8.3 name: short entry only. */
static int as_short(const char *name, uint8_t out[11])
{
	const char *dot = strchr(name, '.');
	size_t base = dot ? (size_t)(dot - name) : strlen(name);
	size_t ext = dot ? strlen(dot + 1) : 0;
	if (!base || base > 8 || ext > 3 || (dot && (!ext || strchr(dot + 1, '.'))))
		return 0;
	for (size_t i = 0; name[i]; i++)
		if (name + i != dot && !short_char_ok((unsigned char)name[i]))
			return 0;
	memset(out, ' ', 11);
	memcpy(out, name, base);
	if (dot)
		memcpy(out + 8, dot + 1, ext);
	if (out[0] == 0xe5)
		out[0] = 0x05;
	return 1;
}

/* ---- directories ------------------------------------------------------- */

struct slot {			/* an entry found in a directory */
	loff_t first, pos;	/* its first slot (LFN or short), its short entry */
	long long i_pos;	/* the short entry on the device */
	int nslots;		/* LFN slots + 1 */
	struct fat_de de;
	char name[NK_NAME_MAX * 3 + 1];
};

struct diter {			/* a walk over a directory's slots */
	struct super_block *sb;
	struct fat_inode *dir;
	struct buffer_head *bh;
	sector_t sec;
};

static void diter_end(struct diter *it)
{
	if (it->bh)
		brelse(it->bh);
	it->bh = NULL;
}

/* The slot at byte pos of the directory: a pointer into the held buffer
 * (and the device position in *i_pos), NULL at the directory's end. */
static uint8_t *diter_at(struct diter *it, loff_t pos, long long *i_pos, int *err)
{
	struct fat_sb *s = FSB(it->sb);
	sector_t sec;
	*err = 0;
	if (!it->dir->start && !it->dir->i_pos && s->bits != 32) {	/* the fixed root */
		if (pos >= (loff_t)s->root_secs * s->sec_size)
			return NULL;
		sec = s->root_start + (sector_t)(pos / s->sec_size);
	} else {
		long c = bmap(it->sb, it->dir, (unsigned long)(pos / s->clus_size));
		if (c <= 0) {
			*err = (int)c;
			return NULL;
		}
		sec = clus_sector(s, (unsigned long)c) + (sector_t)((pos % s->clus_size) / s->sec_size);
	}
	if (!it->bh || it->sec != sec) {
		diter_end(it);
		if (!(it->bh = sb_bread(it->sb, sec))) {
			*err = -EIO;
			return NULL;
		}
		it->sec = sec;
	}
	*i_pos = (long long)sec * s->sec_size + pos % s->sec_size;
	return (uint8_t *)it->bh->b_data + pos % s->sec_size;
}

/* The next entry at or after *pos (volume labels and deleted slots
 * skipped; "." and ".." included): 0, -ENOENT at the end, -EIO. */
static int next_entry(struct diter *it, loff_t *pos, struct slot *out)
{
	uint16_t lfn[20 * 13 + 1];
	int want = 0, got = 0;
	uint8_t sum = 0;
	loff_t first = *pos;
	for (;; *pos += 32) {
		long long ip;
		int err;
		uint8_t *p = diter_at(it, *pos, &ip, &err);
		if (!p)
			return err ? err : -ENOENT;
		if (p[0] == 0)
			return -ENOENT;
		if (p[0] == DELETED) {
			want = got = 0;
			continue;
		}
		if (p[11] == ATTR_LFN) {
			const struct fat_lfn *l = (const void *)p;
			int id = l->id & 0x1f;
			if (l->id & 0x40) {
				want = id;
				got = 0;
				sum = l->alias_checksum;
				first = *pos;
				memset(lfn, 0, sizeof(lfn));
			}
			if (!want || id < 1 || id > 20 || l->alias_checksum != sum) {
				want = 0;
				continue;
			}
			uint16_t *d = lfn + (id - 1) * 13;
			memcpy(d, l->name0_4, 10);
			memcpy(d + 5, l->name5_10, 12);
			memcpy(d + 11, l->name11_12, 4);
			got++;
			continue;
		}
		if (p[11] & ATTR_VOLUME) {
			want = 0;
			continue;
		}
		memcpy(&out->de, p, sizeof(out->de));
		out->pos = *pos;
		out->i_pos = ip;
		if (want && got == want && sum == lfn_checksum(p)) {
			int n = 0;
			for (int i = 0; i < want * 13 && lfn[i] && lfn[i] != 0xffff; i++)
				n += utf8_put(lfn[i], out->name + n);
			out->name[n] = 0;
			out->first = first;
			out->nslots = want + 1;
		} else {
			short_display(&out->de, out->name);
			out->first = *pos;
			out->nslots = 1;
		}
		*pos += 32;
		return 0;
	}
}

/* Finds name in dir (ignoring ASCII case, long or short name). */
static int find(struct super_block *sb, struct fat_inode *dir, const char *name,
		struct slot *out)
{
	struct diter it = { .sb = sb, .dir = dir };
	loff_t pos = 0;
	char sname[16];
	int r;
	while (!(r = next_entry(&it, &pos, out))) {
		short_display(&out->de, sname);
		if (!strcasecmp(out->name, name) || !strcasecmp(sname, name))
			break;
	}
	diter_end(&it);
	return r;
}

/* The short names in dir, 11 bytes each: their count, or -errno. */
static long short_names(struct super_block *sb, struct fat_inode *dir, uint8_t **out)
{
	struct diter it = { .sb = sb, .dir = dir };
	struct slot sl;
	loff_t pos = 0;
	long n = 0, cap = 0;
	int r;
	*out = NULL;
	while (!(r = next_entry(&it, &pos, &sl))) {
		if (n == cap) {
			uint8_t *p = realloc(*out, (size_t)(cap = cap ? 2 * cap : 64) * 11);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			*out = p;
		}
		memcpy(*out + 11 * n++, sl.de.name, 11);
	}
	diter_end(&it);
	if (r != -ENOENT) {
		free(*out);
		*out = NULL;
		return r;
	}
	return n;
}

/* The short name of a long one, not in dir yet: BASE~N.EXT, and after
 * ~4, as Windows does, two characters of the base, four hex digits of a
 * hash of the long name and ~N, so that a directory of similar names
 * does not try thousands of tails. */
static int make_short(struct super_block *sb, struct fat_inode *dir, const char *name,
		      uint8_t out[11])
{
	char base[9] = "", ext[4] = "";
	const char *dot = strrchr(name, '.');
	int nb = 0, ne = 0;
	for (const char *p = name; *p && p != dot; p++) {
		int c = (unsigned char)*p;
		if (c == '.' || c == ' ')
			continue;
		c = c >= 'a' && c <= 'z' ? c - 32 : c;
		if (nb < 6)
			base[nb++] = short_char_ok(c) ? (char)c : '_';
	}
	for (const char *p = dot ? dot + 1 : ""; *p && ne < 3; p++) {
		int c = (unsigned char)*p;
		if (c == ' ')
			continue;
		c = c >= 'a' && c <= 'z' ? c - 32 : c;
		ext[ne++] = short_char_ok(c) ? (char)c : '_';
	}
	if (!nb)
		base[nb++] = '_';
	unsigned h = 5381;
	for (const char *p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	uint8_t *taken;
	long nt = short_names(sb, dir, &taken);
	if (nt < 0)
		return (int)nt;
	for (unsigned long n = 1; n < 1000000; n++) {
		char b[16];
		if (n <= 4)
			snprintf(b, sizeof(b), "%.*s~%lu", nb > 6 ? 6 : nb, base, n);
		else
			snprintf(b, sizeof(b), "%.2s%04X~%lu", base, (h + (unsigned)(n / 10)) & 0xffff,
				 n % 9 + 1);
		size_t bl = strlen(b);	/* at most 8 */
		memset(out, ' ', 11);
		memcpy(out, b, bl);
		memcpy(out + 8, ext, (size_t)ne);
		long k = 0;
		while (k < nt && memcmp(taken + 11 * k, out, 11))
			k++;
		if (k == nt) {
			free(taken);
			return 0;
		}
	}
	free(taken);
	return -EEXIST;
}

/* Writes one 32-byte slot at pos of dir. */
static int put_slot(struct super_block *sb, struct fat_inode *dir, loff_t pos, const void *slot,
		    long long *i_pos)
{
	struct diter it = { .sb = sb, .dir = dir };
	int err;
	long long ip;
	uint8_t *p = diter_at(&it, pos, &ip, &err);
	if (!p)
		return err ? err : -EIO;
	memcpy(p, slot, 32);
	mark_buffer_dirty(it.bh);
	diter_end(&it);
	if (i_pos)
		*i_pos = ip;
	return 0;
}

/* Marks n slots from pos deleted. */
static int remove_slots(struct super_block *sb, struct fat_inode *dir, loff_t pos, int n)
{
	struct diter it = { .sb = sb, .dir = dir };
	for (int i = 0; i < n; i++) {
		int err;
		long long ip;
		uint8_t *p = diter_at(&it, pos + 32 * i, &ip, &err);
		if (!p) {
			diter_end(&it);
			return err ? err : -EIO;
		}
		p[0] = DELETED;
		mark_buffer_dirty(it.bh);
	}
	diter_end(&it);
	return 0;
}

/* Adds an entry named name (short entry de, its name set here) to dir:
 * its short entry's i_pos, or -errno. */
static long long add_entry(struct super_block *sb, struct fat_inode *dir, const char *name,
			   struct fat_de *de)
{
	struct fat_sb *s = FSB(sb);
	uint16_t u[NK_NAME_MAX + 1];
	int len = to_ucs2(name, u, NK_NAME_MAX);
	int nlfn = 0;
	if (len <= 0 || !strcmp(name, ".") || !strcmp(name, "..") ||
	    name[strlen(name) - 1] == '.' || name[strlen(name) - 1] == ' ')
		return -EINVAL;
	if (as_short(name, de->name)) {
		de->lcase = 0;
	} else {
		int r = make_short(sb, dir, name, de->name);
		if (r)
			return r;
		nlfn = (len + 12) / 13;
	}
	int need = nlfn + 1;

	/* a run of free slots */
	struct diter it = { .sb = sb, .dir = dir };
	loff_t pos = 0, run = 0;
	int have = 0;
	for (;; pos += 32) {
		int err;
		long long ip;
		uint8_t *p = diter_at(&it, pos, &ip, &err);
		if (!p) {
			if (err) {
				diter_end(&it);
				return err;
			}
			break;
		}
		if (p[0] == 0 || p[0] == DELETED) {
			if (!have++)
				run = pos;
			if (have == need)
				break;
		} else {
			have = 0;
		}
	}
	diter_end(&it);
	if (have < need) {
		/* the run goes on past the end: grow the directory (not the
		 * fixed root) by zeroed clusters */
		if (!dir->start && !dir->i_pos && s->bits != 32)
			return -ENOSPC;
		if (!have)
			run = pos;
		unsigned long cur = (unsigned long)(pos / s->clus_size);
		unsigned long want = (unsigned long)((run + 32 * need + s->clus_size - 1) / s->clus_size);
		for (unsigned long k = cur; k < want; k++) {
			int r = extend(sb, dir, k + 1);
			long c = r ? r : bmap(sb, dir, k);
			if (c <= 0 || zero_cluster(sb, (unsigned long)c))
				return c < 0 ? (int)c : -EIO;
		}
	}
	/* long slots, last part first, then the short entry */
	uint8_t sum = lfn_checksum(de->name);
	for (int k = nlfn; k >= 1; k--) {
		struct fat_lfn l = { .id = (uint8_t)(k | (k == nlfn ? 0x40 : 0)), .attr = ATTR_LFN,
				     .alias_checksum = sum };
		uint16_t part[13];
		for (int i = 0; i < 13; i++) {
			int at = (k - 1) * 13 + i;
			part[i] = at < len ? u[at] : at == len ? 0 : 0xffff;
		}
		memcpy(l.name0_4, part, 10);
		memcpy(l.name5_10, part + 5, 12);
		memcpy(l.name11_12, part + 11, 4);
		int r = put_slot(sb, dir, run + 32 * (nlfn - k), &l, NULL);
		if (r)
			return r;
	}
	long long ip;
	int r = put_slot(sb, dir, run + 32 * nlfn, de, &ip);
	return r ? r : ip;
}

/* ---- inodes --------------------------------------------------------------- */

static unsigned ihash(long long i_pos)
{
	return (unsigned)((unsigned long long)i_pos / 32 % IHASH);
}

static struct fat_inode *iget_pos(struct fat_sb *s, long long i_pos)
{
	for (struct fat_inode *f = s->ihash[ihash(i_pos)]; f; f = f->hnext)
		if (f->i_pos == i_pos)
			return f;
	return NULL;
}

static void iattach(struct fat_sb *s, struct fat_inode *f, long long i_pos)
{
	f->i_pos = i_pos;
	f->hnext = s->ihash[ihash(i_pos)];
	s->ihash[ihash(i_pos)] = f;
}

static void idetach(struct fat_sb *s, struct fat_inode *f)
{
	struct fat_inode **pp = &s->ihash[ihash(f->i_pos)];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
}

static void set_mode(struct inode *inode, struct fat_inode *f)
{
	unsigned perm = f->dir ? 0755 : 0644;
	if (f->attr & ATTR_RO)
		perm &= ~0222u;
	inode->i_mode = (f->dir ? S_IFDIR : S_IFREG) | perm;
}

/* An inode for a directory entry (or the root: de NULL), hashed. */
static struct inode *build_inode(struct super_block *sb, const struct fat_de *de, long long i_pos)
{
	struct fat_sb *s = FSB(sb);
	struct inode *inode = new_inode(sb);
	struct fat_inode *f = calloc(1, sizeof(*f));
	if (!inode || !f) {
		if (inode)
			iput(inode);
		free(f);
		return NULL;
	}
	if (de) {
		f->dir = !!(de->attr & ATTR_DIR);
		f->attr = de->attr;
		f->start = de_start(s, de);
		inode->i_mtime = unix_time(de->date, de->time);
	} else {
		f->dir = 1;
		f->attr = ATTR_DIR;
		f->start = s->bits == 32 ? s->root_cluster : 0;
	}
	iattach(s, f, i_pos);
	set_mode(inode, f);
	inode->i_nlink = f->dir ? 2 : 1;
	inode->i_size = f->dir ? (long long)chain_len(sb, f->start) * s->clus_size
				: (de ? de->size : 0);
	if (f->dir && !f->start && !i_pos && s->bits != 32)
		inode->i_size = (long long)s->root_secs * s->sec_size;
	inode->i_private = f;
	inode->i_op = f->dir ? &fat_dir_iops : &fat_file_iops;
	inode->i_fop = f->dir ? &fat_dir_fops : &fat_file_fops;
	if (insert_inode_hash(inode)) {
		idetach(s, f);
		free(f);
		iput(inode);
		return NULL;
	}
	return inode;
}

/* Writes inode's size, first cluster and times to its short entry. */
static int write_inode(struct super_block *sb, struct inode *inode)
{
	struct fat_sb *s = FSB(sb);
	struct fat_inode *f = FI(inode);
	if (!f->i_pos || f->unlinked)
		return 0;
	struct buffer_head *bh = sb_bread(sb, (sector_t)(f->i_pos / s->sec_size));
	if (!bh)
		return -EIO;
	struct fat_de *de = (struct fat_de *)(bh->b_data + f->i_pos % s->sec_size);
	de->size = f->dir ? 0 : (uint32_t)inode->i_size;
	de_set_start(de, f->start);
	de->attr = f->attr;
	fat_time(inode->i_mtime, de);
	mark_buffer_dirty(bh);
	brelse(bh);
	return 0;
}

/* ---- inode operations ------------------------------------------------------- */

static int fat_lookup(struct super_block *sb, struct inode *dir, struct dentry *dentry)
{
	struct slot sl;
	int r = find(sb, FI(dir), dentry->d_name, &sl);
	if (r)
		return r;
	if (!strcmp(sl.name, ".") || !strcmp(sl.name, ".."))
		return -ENOENT;
	struct fat_inode *old = iget_pos(FSB(sb), sl.i_pos);
	if (old)		/* the kernel looks each name up once */
		return -EIO;
	struct inode *inode = build_inode(sb, &sl.de, sl.i_pos);
	return inode ? d_instantiate(dentry, inode) : -ENOMEM;
}

static void new_de(struct fat_de *de, uint8_t attr, unsigned long start)
{
	memset(de, 0, sizeof(*de));
	de->attr = attr;
	de_set_start(de, start);
	fat_time((long long)time(NULL), de);
	de->cdate = de->adate = de->date;
	de->ctime = de->time;
}

static int fat_create(struct super_block *sb, struct inode *dir, struct dentry *dentry,
		      unsigned int mode, bool excl)
{
	struct fat_de de;
	(void)excl;
	new_de(&de, (uint8_t)(ATTR_ARCH | (mode & 0222 ? 0 : ATTR_RO)), 0);
	long long ip = add_entry(sb, FI(dir), dentry->d_name, &de);
	if (ip < 0)
		return (int)ip;
	dir->i_mtime = (long long)time(NULL);
	struct inode *inode = build_inode(sb, &de, ip);
	return inode ? d_instantiate(dentry, inode) : -ENOMEM;
}

static int fat_mkdir(struct super_block *sb, struct inode *dir, struct dentry *dentry,
		     unsigned int mode)
{
	struct fat_sb *s = FSB(sb);
	struct fat_inode *pd = FI(dir);
	(void)mode;
	long c = alloc_cluster(sb, 0);
	if (c < 0)
		return (int)c;
	int r = zero_cluster(sb, (unsigned long)c);
	struct fat_de dots[2];
	unsigned long parent = pd->i_pos ? pd->start : 0;	/* the root is 0 */
	new_de(&dots[0], ATTR_DIR, (unsigned long)c);
	memcpy(dots[0].name, ".          ", 11);
	new_de(&dots[1], ATTR_DIR, parent);
	memcpy(dots[1].name, "..         ", 11);
	struct buffer_head *bh = r ? NULL : sb_bread(sb, clus_sector(s, (unsigned long)c));
	if (!bh) {
		free_chain(sb, (unsigned long)c);
		return -EIO;
	}
	memcpy(bh->b_data, dots, sizeof(dots));
	mark_buffer_dirty(bh);
	brelse(bh);
	struct fat_de de;
	new_de(&de, ATTR_DIR, (unsigned long)c);
	long long ip = add_entry(sb, pd, dentry->d_name, &de);
	if (ip < 0) {
		free_chain(sb, (unsigned long)c);
		return (int)ip;
	}
	dir->i_nlink++;
	dir->i_mtime = (long long)time(NULL);
	struct inode *inode = build_inode(sb, &de, ip);
	return inode ? d_instantiate(dentry, inode) : -ENOMEM;
}

static int dir_empty(struct super_block *sb, unsigned long start)
{
	struct fat_inode tmp = { .start = start, .i_pos = 1, .dir = 1 };
	struct diter it = { .sb = sb, .dir = &tmp };
	struct slot sl;
	loff_t pos = 0;
	int r;
	while (!(r = next_entry(&it, &pos, &sl)))
		if (strcmp(sl.name, ".") && strcmp(sl.name, ".."))
			break;
	diter_end(&it);
	return r == -ENOENT ? 1 : r == 0 ? 0 : r;
}

/* Removes the entry sl of dir and frees its clusters. */
static int remove_entry(struct super_block *sb, struct fat_inode *dir, struct slot *sl)
{
	struct fat_sb *s = FSB(sb);
	int r = remove_slots(sb, dir, sl->first, sl->nslots);
	if (r)
		return r;
	free_chain(sb, de_start(s, &sl->de));
	struct fat_inode *f = iget_pos(s, sl->i_pos);
	if (f) {
		f->unlinked = 1;
		f->start = 0;
		idetach(s, f);
		f->i_pos = 0;
		f->hnext = NULL;
	}
	return 0;
}

static int fat_unlink(struct super_block *sb, struct inode *dir, struct dentry *dentry)
{
	struct slot sl;
	int r = find(sb, FI(dir), dentry->d_name, &sl);
	if (r)
		return r;
	if (sl.de.attr & ATTR_DIR)
		return -EISDIR;
	dir->i_mtime = (long long)time(NULL);
	return remove_entry(sb, FI(dir), &sl);
}

static int fat_rmdir(struct super_block *sb, struct inode *dir, struct dentry *dentry)
{
	struct slot sl;
	int r = find(sb, FI(dir), dentry->d_name, &sl);
	if (r)
		return r;
	if (!(sl.de.attr & ATTR_DIR))
		return -ENOTDIR;
	if ((r = dir_empty(sb, de_start(FSB(sb), &sl.de))) <= 0)
		return r ? r : -ENOTEMPTY;
	if (dir->i_nlink > 2)
		dir->i_nlink--;
	dir->i_mtime = (long long)time(NULL);
	return remove_entry(sb, FI(dir), &sl);
}

static int fat_rename(struct super_block *sb, struct inode *old_dir, struct dentry *old_dentry,
		      struct inode *new_dir, struct dentry *new_dentry, unsigned int flags)
{
	struct fat_sb *s = FSB(sb);
	struct fat_inode *od = FI(old_dir), *nd = FI(new_dir);
	struct slot src, dst;
	int r = find(sb, od, old_dentry->d_name, &src);
	if (r)
		return r;
	r = find(sb, nd, new_dentry->d_name, &dst);
	if (r && r != -ENOENT)
		return r;
	int have_dst = !r && dst.i_pos != src.i_pos;	/* not a change of case */
	if (have_dst) {
		if (flags & NK_RENAME_NOREPLACE)
			return -EEXIST;
		if (dst.de.attr & ATTR_DIR) {
			if (!(src.de.attr & ATTR_DIR))
				return -EISDIR;
			if ((r = dir_empty(sb, de_start(s, &dst.de))) <= 0)
				return r ? r : -ENOTEMPTY;
		} else if (src.de.attr & ATTR_DIR) {
			return -ENOTDIR;
		}
		if ((r = remove_entry(sb, nd, &dst)))
			return r;
	}
	struct fat_de de = src.de;
	long long ip = add_entry(sb, nd, new_dentry->d_name, &de);
	if (ip < 0)
		return (int)ip;
	/* the old entry goes; the inode follows its entry */
	if ((r = remove_slots(sb, od, src.first, src.nslots)))
		return r;
	struct fat_inode *f = iget_pos(s, src.i_pos);
	if (f) {
		idetach(s, f);
		iattach(s, f, ip);
	}
	if ((src.de.attr & ATTR_DIR) && od != nd) {
		/* its ".." names the new parent */
		struct fat_inode tmp = { .start = de_start(s, &src.de), .i_pos = 1, .dir = 1 };
		struct diter it = { .sb = sb, .dir = &tmp };
		int err;
		long long dip;
		struct fat_de *dd = (struct fat_de *)diter_at(&it, 32, &dip, &err);
		if (dd && !memcmp(dd->name, "..         ", 11)) {
			de_set_start(dd, nd->i_pos ? nd->start : 0);
			mark_buffer_dirty(it.bh);
		}
		diter_end(&it);
		old_dir->i_nlink--;
		new_dir->i_nlink++;
	}
	old_dir->i_mtime = new_dir->i_mtime = (long long)time(NULL);
	return 0;
}

/* Writes zeros to the device range of fi from byte from to byte to. */
static int zero_range(struct super_block *sb, struct fat_inode *f, long long from, long long to)
{
	struct fat_sb *s = FSB(sb);
	char *z = calloc(1, s->clus_size);
	if (!z)
		return -ENOMEM;
	int r = 0;
	while (from < to && !r) {
		long c = bmap(sb, f, (unsigned long)(from / s->clus_size));
		if (c <= 0) {
			r = c ? (int)c : -EIO;
			break;
		}
		long long off = from % s->clus_size, n = s->clus_size - off;
		if (n > to - from)
			n = to - from;
		loff_t dev = (loff_t)clus_sector(s, (unsigned long)c) * s->sec_size + off;
		if (nk_bdev_write(sb, dev, z, (size_t)n) != n)
			r = -EIO;
		from += n;
	}
	free(z);
	return r;
}

/* The file's size becomes size: clusters freed or added, the new bytes
 * zeroed up to zero_to (a write fills the rest). */
static int resize(struct super_block *sb, struct inode *inode, long long size, long long zero_to)
{
	struct fat_sb *s = FSB(sb);
	struct fat_inode *f = FI(inode);
	unsigned long need = (unsigned long)((size + s->clus_size - 1) / s->clus_size);
	int r;
	if (size > 0xffffffffLL)
		return -EFBIG;
	if (size < inode->i_size) {
		r = shorten(sb, f, need);
	} else {
		if (!(r = extend(sb, f, need)) && zero_to > inode->i_size)
			r = zero_range(sb, f, inode->i_size, zero_to);
	}
	if (r)
		return r;
	inode->i_size = size;
	return 0;
}

static int fat_setattr(struct super_block *sb, struct inode *inode, const struct iattr *attr)
{
	struct fat_inode *f = FI(inode);
	int r;
	if ((attr->ia_valid & NK_ATTR_SIZE) && (r = resize(sb, inode, attr->ia_size, attr->ia_size)))
		return r;
	if (attr->ia_valid & NK_ATTR_MTIME)
		inode->i_mtime = attr->ia_mtime;
	if (attr->ia_valid & NK_ATTR_MODE) {
		if (attr->ia_mode & 0222)
			f->attr &= (uint8_t)~ATTR_RO;
		else
			f->attr |= ATTR_RO;
		set_mode(inode, f);
	}
	return write_inode(sb, inode);
}

/* ---- file operations ------------------------------------------------------ */

/* Moves len bytes between buf and the file at pos, a run of adjacent
 * clusters at a time, through a bounce buffer of its own (the kernel's
 * buffer is not memory it may hand back to the kernel). */
static ssize_t file_io(struct super_block *sb, struct inode *inode, char *rbuf,
		       const char *wbuf, size_t len, loff_t pos)
{
	struct fat_sb *s = FSB(sb);
	struct fat_inode *f = FI(inode);
	size_t done = 0;
	char *bounce = malloc(len < BOUNCE ? len : BOUNCE);
	if (!bounce)
		return -ENOMEM;
	while (done < len) {
		unsigned long idx = (unsigned long)((pos + (loff_t)done) / s->clus_size);
		long c = bmap(sb, f, idx);
		if (c <= 0) {
			free(bounce);
			return done ? (ssize_t)done : c ? c : -EIO;
		}
		long first = c;
		size_t off = (size_t)((pos + (loff_t)done) % s->clus_size);
		size_t n = s->clus_size - off;
		/* adjacent clusters: one transfer */
		while (done + n < len && n < BOUNCE) {
			long next = bmap(sb, f, idx + 1);
			if (next != c + 1)
				break;
			c = next;
			idx++;
			n += s->clus_size;
		}
		if (n > len - done)
			n = len - done;
		if (n > BOUNCE)
			n = BOUNCE;
		loff_t dev = (loff_t)clus_sector(s, (unsigned long)first) * s->sec_size + (loff_t)off;
		ssize_t r;
		if (rbuf) {
			r = nk_bdev_read(sb, dev, bounce, n);
			if (r > 0)
				memcpy(rbuf + done, bounce, (size_t)r);
		} else {
			memcpy(bounce, wbuf + done, n);
			r = nk_bdev_write(sb, dev, bounce, n);
		}
		if (r <= 0) {
			free(bounce);
			return done ? (ssize_t)done : r ? r : -EIO;
		}
		done += (size_t)r;
	}
	free(bounce);
	return (ssize_t)done;
}

static ssize_t fat_read(struct super_block *sb, struct inode *inode, struct nk_file *file,
			char *buf, size_t count, loff_t pos)
{
	(void)file;
	if (pos < 0)
		return -EINVAL;
	if (pos >= inode->i_size)
		return 0;
	if ((long long)count > inode->i_size - pos)
		count = (size_t)(inode->i_size - pos);
	return file_io(sb, inode, buf, NULL, count, pos);
}

static ssize_t fat_write(struct super_block *sb, struct inode *inode, struct nk_file *file,
			 const char *buf, size_t count, loff_t pos)
{
	(void)file;
	if (pos < 0)
		return -EINVAL;
	if (!count)
		return 0;
	if (pos + (long long)count > 0xffffffffLL)
		return -EFBIG;
	if (pos + (long long)count > inode->i_size) {
		int r = resize(sb, inode, pos + (long long)count, pos);
		if (r)
			return r;
	}
	ssize_t n = file_io(sb, inode, NULL, buf, count, pos);
	if (n > 0) {
		inode->i_mtime = (long long)time(NULL);
		FI(inode)->attr |= ATTR_ARCH;
		int r = write_inode(sb, inode);
		if (r)
			return r;
	}
	return n;
}

static int fat_fsync(struct super_block *sb, struct inode *inode, struct nk_file *file,
		     int datasync)
{
	(void)file, (void)datasync;
	return write_inode(sb, inode);
}

/* Positions: the root has no "." and ".." on disk: they are 0 and 1, its
 * slot at byte b is b + 2.  Other directories: the byte of the slot. */
static int fat_iterate(struct super_block *sb, struct inode *inode, struct nk_file *file,
		       struct dir_context *ctx)
{
	struct fat_inode *f = FI(inode);
	int root = !f->i_pos, bias = root ? 2 : 0;
	(void)file;
	if (root && ctx->pos == 0) {
		if (!dir_emit(ctx, ".", 1, inode->i_ino, NK_DT_DIR))
			return 0;
		ctx->pos = 1;
	}
	if (root && ctx->pos == 1) {
		if (!dir_emit(ctx, "..", 2, 1, NK_DT_DIR))
			return 0;
		ctx->pos = 2;
	}
	struct diter it = { .sb = sb, .dir = f };
	struct slot sl;
	loff_t pos = ctx->pos - bias;
	int r;
	while (!(r = next_entry(&it, &pos, &sl))) {
		ctx->pos = sl.first + bias;
		if (!dir_emit(ctx, sl.name, (int)strlen(sl.name),
			      (unsigned long)(sl.i_pos / 32), sl.de.attr & ATTR_DIR ? NK_DT_DIR : NK_DT_REG)) {
			diter_end(&it);
			return 0;
		}
	}
	diter_end(&it);
	ctx->pos = pos + bias;
	return r == -ENOENT ? 0 : r;
}

/* ---- the super block -------------------------------------------------------- */

static int count_free(struct super_block *sb)
{
	struct fat_sb *s = FSB(sb);
	size_t bytes = (size_t)s->fat_len * s->sec_size;
	uint8_t *fat = malloc(bytes);
	if (!fat)
		return -ENOMEM;
	loff_t at = (loff_t)(s->fat_start + (sector_t)s->active * s->fat_len) * s->sec_size;
	if (nk_bdev_read(sb, at, fat, bytes) != (ssize_t)bytes) {
		free(fat);
		return -EIO;
	}
	long n = 0;
	for (unsigned long c = 2; c < s->nclusters + 2; c++) {
		unsigned long v;
		if (s->bits == 12) {
			unsigned long o = c + c / 2;
			unsigned w = fat[o] | (unsigned)fat[o + 1] << 8;
			v = c & 1 ? w >> 4 : w & 0xfff;
		} else if (s->bits == 16) {
			v = fat[2 * c] | (unsigned)fat[2 * c + 1] << 8;
		} else {
			uint32_t w;
			memcpy(&w, fat + 4 * c, 4);
			v = w & 0x0fffffff;
		}
		n += v == 0;
	}
	free(fat);
	s->free_count = n;
	return 0;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fat_mount(struct file_system_type *fs, struct super_block *sb, const char *data,
		     int silent)
{
	(void)fs, (void)data;
	struct buffer_head *bh = sb_bread(sb, 0);
	if (!bh)
		return -EIO;
	const uint8_t *b = (const uint8_t *)bh->b_data;
	struct fat_sb *s = calloc(1, sizeof(*s));
	if (!s) {
		brelse(bh);
		return -ENOMEM;
	}
	s->sec_size = le16(b + 11);
	s->sec_per_clus = b[13];
	unsigned reserved = le16(b + 14);
	s->nfats = b[16];
	unsigned root_ents = le16(b + 17);
	unsigned long total = le16(b + 19) ? le16(b + 19) : le32(b + 32);
	s->fat_len = le16(b + 22) ? le16(b + 22) : le32(b + 36);
	int ok = (b[0] == 0xeb || b[0] == 0xe9) && b[510] == 0x55 && b[511] == 0xaa &&
		 s->sec_size >= 512 && s->sec_size <= 4096 && !(s->sec_size & (s->sec_size - 1)) &&
		 s->sec_per_clus && !(s->sec_per_clus & (s->sec_per_clus - 1)) && reserved &&
		 s->nfats && s->fat_len && total;
	unsigned ext_flags = le16(b + 40);
	s->root_cluster = le32(b + 44);
	unsigned fsinfo = le16(b + 48);
	uint8_t b16[24];
	memcpy(b16, b, sizeof(b16));
	brelse(bh);
	if (!ok) {
		if (!silent)
			pr_err("fatfs: %s: not a FAT file system", sb->s_id);
		free(s);
		return -EINVAL;
	}
	if (s->sec_size != 512 && sb_set_blocksize(sb, (int)s->sec_size) < 0) {
		free(s);
		return -EINVAL;
	}
	s->clus_size = s->sec_size * s->sec_per_clus;
	s->root_secs = (root_ents * 32 + s->sec_size - 1) / s->sec_size;
	s->fat_start = reserved;
	s->root_start = s->fat_start + (sector_t)s->nfats * s->fat_len;
	s->data_start = s->root_start + s->root_secs;
	if (total <= s->data_start || total * (unsigned long long)s->sec_size > sb->s_bdev_size) {
		pr_err("fatfs: %s: %lu sectors do not fit the device", sb->s_id, total);
		free(s);
		return -EINVAL;
	}
	s->nclusters = (unsigned long)((total - s->data_start) / s->sec_per_clus);
	/* as Linux: no 16-bit FAT length is FAT32 (mkfs.vfat -F 32 makes
	 * small ones), else the cluster count decides FAT12 or FAT16 */
	s->bits = !le16(b16 + 22) ? 32 : s->nclusters < 4085 ? 12 : 16;
	/* the FAT must hold every cluster's entry */
	unsigned long long fat_bytes = (unsigned long long)s->fat_len * s->sec_size;
	if ((s->nclusters + 2) * (unsigned long long)s->bits / 8 + 1 > fat_bytes ||
	    (s->bits == 32 && (!valid_clus(s, s->root_cluster) || root_ents)) ||
	    (s->bits != 32 && !root_ents)) {
		pr_err("fatfs: %s: inconsistent FAT%u geometry", sb->s_id, s->bits);
		free(s);
		return -EINVAL;
	}
	s->eoc = s->bits == 12 ? 0xfff : s->bits == 16 ? 0xffff : 0x0fffffff;
	s->mirror = s->bits != 32 || !(ext_flags & 0x80);
	s->active = s->mirror ? 0 : ext_flags & 0x0f;
	if (s->active >= s->nfats)
		s->active = 0;
	s->fsinfo = s->bits == 32 && fsinfo && fsinfo < reserved ? fsinfo : 0;
	s->next_free = 2;
	sb->s_fs_info = s;
	sb->s_magic = 0x4d44;	/* MSDOS_SUPER_MAGIC */
	sb->s_maxbytes = 0xffffffffLL;
	sb->s_op = &fat_sops;	/* before new_inode() */
	int r = count_free(sb);
	struct inode *root = r ? NULL : build_inode(sb, NULL, 0);
	if (!root || (r = d_make_root(root))) {
		for (unsigned i = 0; i < IHASH; i++)
			while (s->ihash[i]) {
				struct fat_inode *f = s->ihash[i];
				s->ihash[i] = f->hnext;
				free(f);
			}
		free(s);
		sb->s_fs_info = NULL;
		return r ? r : -ENOMEM;
	}
	pr_info("fatfs: %s: FAT%u, %lu clusters of %u bytes, %ld free", sb->s_id, s->bits,
		s->nclusters, s->clus_size, s->free_count);
	return 0;
}

static void fat_kill_sb(struct file_system_type *fs, struct super_block *sb)
{
	struct fat_sb *s = FSB(sb);
	(void)fs;
	if (!s)
		return;
	fsinfo_update(sb);
	for (unsigned i = 0; i < IHASH; i++)
		while (s->ihash[i]) {
			struct fat_inode *f = s->ihash[i];
			s->ihash[i] = f->hnext;
			free(f);
		}
	free(s);
	sb->s_fs_info = NULL;
}

static void fat_evict_inode(struct super_block *sb, struct inode *inode)
{
	struct fat_inode *f = FI(inode);
	if (!f)
		return;
	if (f->i_pos || !f->unlinked)
		idetach(FSB(sb), f);
	free(f);
	inode->i_private = NULL;
}

static int fat_statfs(struct super_block *sb, struct kstatfs *buf)
{
	struct fat_sb *s = FSB(sb);
	buf->f_bsize = s->clus_size;
	buf->f_blocks = s->nclusters;
	buf->f_bfree = (unsigned long long)(s->free_count > 0 ? s->free_count : 0);
	buf->f_files = buf->f_ffree = 0;
	buf->f_namelen = NK_NAME_MAX;
	return 0;
}

static int fat_sync_fs(struct super_block *sb, int wait)
{
	(void)wait;
	fsinfo_update(sb);
	return 0;
}

static const struct super_operations fat_sops = {
	.evict_inode = fat_evict_inode,
	.statfs = fat_statfs,
	.sync_fs = fat_sync_fs,
};

static const struct inode_operations fat_dir_iops = {
	.lookup = fat_lookup,
	.create = fat_create,
	.mkdir = fat_mkdir,
	.unlink = fat_unlink,
	.rmdir = fat_rmdir,
	.rename = fat_rename,
	.setattr = fat_setattr,
};

static const struct inode_operations fat_file_iops = {
	.setattr = fat_setattr,
};

static const struct file_operations fat_dir_fops = {
	.iterate = fat_iterate,
	.fsync = fat_fsync,
};

static const struct file_operations fat_file_fops = {
	.read = fat_read,
	.write = fat_write,
	.fsync = fat_fsync,
};

static const struct file_system_ops fat_fs_ops = {
	.mount = fat_mount,
	.kill_sb = fat_kill_sb,
};

/* ---- the module ------------------------------------------------------------ */

int init_module(void)
{
	module_param_get("type", type_name, sizeof(type_name));	/* optional */
	fatfs = alloc_filesystem(type_name);
	if (!fatfs)
		return -ENOMEM;
	fatfs->fs_flags = NK_FS_CASEFOLD;
	fatfs->ops = &fat_fs_ops;
	int r = register_filesystem(fatfs);
	if (r) {
		free_filesystem(fatfs);
		return r;
	}
	return 0;
}

void cleanup_module(void)
{
	unregister_filesystem(fatfs);
	free_filesystem(fatfs);
}
