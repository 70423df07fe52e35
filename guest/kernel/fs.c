// SPDX-License-Identifier: GPL-2.0
/*
 * Files (after fs/open.c, fs/read_write.c, fs/stat.c, fs/fcntl.c): the
 * process's fd table over open files, which are host files (a handle of
 * the VMM's host file interface, HC_HOSTFS) or the ends of an in-kernel
 * pipe; the cwd; paths joined and normalized here and handed to the VMM
 * absolute, which resolves them inside --root.
 *
 * Data moves between the program and the VMM through the bounce buffer,
 * a chunk at a time: the VMM gets guest-physical addresses of kernel
 * memory, never the program's virtual addresses.
 */
#include "kernel.h"

#define AT_EMPTY_PATH 0x1000
#define O_ACCMODE 03
#define O_WRONLY 01
#define O_RDWR 02
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1
#define F_UNLCK 2
#define TCGETS 0x5401
#define TIOCGWINSZ 0x5413
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFIFO 0010000
#define PATH_MAX 4096
#define STAT_SIZE 144
#define STATX_SIZE 256
#define SEEK_SET 0

#define NR_FDS 256
#define NR_FILES 256
#define NR_PIPES 16
#define PIPE_PAGES 16
#define PIPE_SIZE (PIPE_PAGES * PAGE_SIZE)
#define IOV_MAX 1024

enum file_type { FILE_NONE, FILE_HOST, FILE_PIPE_READ, FILE_PIPE_WRITE };

struct pipe {
	unsigned long pages[PIPE_PAGES]; /* frames, reached through the direct map */
	unsigned long head, len;	 /* the oldest byte's offset, bytes held */
	unsigned int readers, writers;
};

/* An open file description: what dup() shares. */
struct file {
	enum file_type type;
	unsigned int refs;
	long hfd;	     /* the host's handle */
	unsigned long flags; /* O_ACCMODE and the status flags (F_GETFL) */
	struct pipe *pipe;
	char *path; /* absolute, for openat() relative to a directory */
};

struct fd {
	struct file *file;
	bool cloexec;
};

/* The process's files: the kernel runs one. */
static struct fd fd_table[NR_FDS];
static struct file files[NR_FILES];
static struct pipe pipes[NR_PIPES];
static char file_paths[NR_FILES][256];
static char cwd[PATH_MAX] = "/";

/* Each call's request and its path: in the image, so their GPAs are their addresses. */
static struct hostfs_req req;
static char path_buf[PATH_MAX];
char bounce[BOUNCE_SIZE] __attribute__((aligned(PAGE_SIZE)));

long hostfs_call(struct hostfs_req *r)
{
	return (long)hypercall(HC_HOSTFS, virt_to_phys(r), 0);
}

static long hostfs(unsigned long op, long hfd, unsigned long gpa, unsigned long len,
		   unsigned long off)
{
	req = (struct hostfs_req){ .op = op, .fd = hfd, .gpa = gpa, .len = len, .off = off };
	return hostfs_call(&req);
}

long hostfs_pread(long hfd, unsigned long gpa, unsigned long len, unsigned long off)
{
	return hostfs(HOSTFS_READ, hfd, gpa, len, off);
}

long hostfs_close(long hfd)
{
	return hostfs(HOSTFS_CLOSE, hfd, 0, 0, 0);
}

/* ---- files and descriptors ---- */

static struct file *file_alloc(enum file_type type, unsigned long flags)
{
	for (unsigned int i = 0; i < NR_FILES; i++) {
		if (files[i].type == FILE_NONE) {
			files[i] = (struct file){ .type = type,
						  .refs = 1,
						  .hfd = -1,
						  .flags = flags,
						  .path = file_paths[i] };
			files[i].path[0] = '\0';
			return &files[i];
		}
	}
	return NULL;
}

static void file_put(struct file *f)
{
	if (--f->refs)
		return;
	if (f->type == FILE_HOST) {
		hostfs_close(f->hfd);
	} else if (f->type == FILE_PIPE_READ || f->type == FILE_PIPE_WRITE) {
		struct pipe *p = f->pipe;

		if (f->type == FILE_PIPE_READ)
			p->readers--;
		else
			p->writers--;
		if (!p->readers && !p->writers) {
			for (unsigned int i = 0; i < PIPE_PAGES; i++)
				if (p->pages[i])
					frame_free(p->pages[i]);
			*p = (struct pipe){ 0 };
		}
	}
	f->type = FILE_NONE;
}

static struct file *fget(long fd)
{
	if (fd < 0 || fd >= NR_FDS)
		return NULL;
	return fd_table[fd].file;
}

/* The lowest free descriptor at or above @from, or -EMFILE. */
static long fd_alloc(long from)
{
	for (long fd = from < 0 ? 0 : from; fd < NR_FDS; fd++)
		if (!fd_table[fd].file)
			return fd;
	return -EMFILE;
}

static void fd_install(long fd, struct file *f, bool cloexec)
{
	fd_table[fd] = (struct fd){ .file = f, .cloexec = cloexec };
}

/*
 * stdin, stdout and stderr are the VMM's handles 0, 1 and 2, open for
 * both directions here: the host's own descriptor says what it allows (a
 * terminal is often read and written through all three).
 */
void fs_init(void)
{
	for (long fd = 0; fd < 3; fd++) {
		struct file *f = file_alloc(FILE_HOST, O_RDWR);

		f->hfd = fd;
		fd_install(fd, f, false);
	}
}

/* ---- paths ---- */

/*
 * Join @base and @rel (absolute or relative) into @out, normalized: no
 * empty or "." component, ".." takes the one before it away (and stops
 * at the root, as the VMM's resolution does).  Lexical, as a path
 * without symlinks resolves.
 */
static long path_join(const char *base, const char *rel, char *out, unsigned long size)
{
	unsigned long len = 0;
	const char *parts[2] = { rel[0] == '/' ? "" : base, rel };

	out[0] = '\0';
	for (int p = 0; p < 2; p++) {
		const char *s = parts[p];

		while (*s) {
			const char *c;
			unsigned long n;

			while (*s == '/')
				s++;
			for (c = s; *c && *c != '/'; c++)
				;
			n = (unsigned long)(c - s);
			if (n == 0 || (n == 1 && s[0] == '.')) {
				/* nothing */
			} else if (n == 2 && s[0] == '.' && s[1] == '.') {
				while (len && out[len - 1] != '/')
					len--;
				if (len)
					len--;
			} else {
				if (len + 1 + n + 1 > size)
					return -ENAMETOOLONG;
				out[len++] = '/';
				copy_bytes(out + len, s, n);
				len += n;
			}
			s = c;
		}
	}
	if (!len)
		out[len++] = '/';
	out[len] = '\0';
	return (long)len;
}

/*
 * The absolute path of @upath relative to @dirfd (AT_FDCWD: the cwd)
 * into path_buf: its length, or -errno.  An empty path is -ENOENT unless
 * the caller takes AT_EMPTY_PATH itself.
 */
static long resolve_path(long dirfd, unsigned long upath)
{
	static char name[PATH_MAX];
	const char *base = cwd;
	long n = strncpy_from_user(name, upath, sizeof(name));

	if (n < 0)
		return n;
	if (!n)
		return -ENOENT;
	if (name[0] != '/' && dirfd != AT_FDCWD) {
		struct file *f = fget(dirfd);

		if (!f)
			return -EBADF;
		if (f->type != FILE_HOST || !f->path[0])
			return -ENOTDIR;
		base = f->path;
	}
	return path_join(base, name, path_buf, sizeof(path_buf));
}

/* ---- read and write ---- */

static struct pipe *pipe_of(struct file *f)
{
	return f->pipe;
}

static char *pipe_byte(struct pipe *p, unsigned long pos)
{
	pos %= PIPE_SIZE;
	return (char *)phys_to_virt(p->pages[pos / PAGE_SIZE]) + pos % PAGE_SIZE;
}

/*
 * One process cannot wait for itself: an empty pipe whose writer is open
 * answers -EAGAIN, a full one takes what fits (-EAGAIN if nothing).
 */
static long pipe_read(struct pipe *p, unsigned long ubuf, unsigned long len)
{
	unsigned long done = 0;

	if (!p->len)
		return p->writers ? -EAGAIN : 0;
	while (done < len && p->len) {
		unsigned long in_page = PAGE_SIZE - p->head % PAGE_SIZE;
		unsigned long n = MIN(MIN(len - done, p->len), in_page);

		if (copy_to_user(ubuf + done, pipe_byte(p, p->head), n))
			return done ? (long)done : -EFAULT;
		p->head = (p->head + n) % PIPE_SIZE;
		p->len -= n;
		done += n;
	}
	return (long)done;
}

static long pipe_write(struct pipe *p, unsigned long ubuf, unsigned long len)
{
	unsigned long done = 0;

	if (!p->readers)
		return -EPIPE;
	while (done < len && p->len < PIPE_SIZE) {
		unsigned long tail = (p->head + p->len) % PIPE_SIZE;
		unsigned long in_page = PAGE_SIZE - tail % PAGE_SIZE;
		unsigned long n = MIN(MIN(len - done, PIPE_SIZE - p->len), in_page);

		if (!p->pages[tail / PAGE_SIZE]) {
			p->pages[tail / PAGE_SIZE] = frame_alloc();
			if (!p->pages[tail / PAGE_SIZE])
				return done ? (long)done : -ENOMEM;
		}
		if (copy_from_user(pipe_byte(p, tail), ubuf + done, n))
			return done ? (long)done : -EFAULT;
		p->len += n;
		done += n;
	}
	return done ? (long)done : -EAGAIN;
}

/*
 * A host read or write of @len bytes at @off (HOSTFS_POS: the handle's
 * position), through the bounce buffer a chunk at a time.  A short
 * transfer ends it, as read(2) returns what it got.
 */
static long host_rw(struct file *f, bool write, unsigned long ubuf, unsigned long len,
		    unsigned long off)
{
	unsigned long done = 0;

	while (done < len) {
		unsigned long chunk = MIN(len - done, BOUNCE_SIZE);
		unsigned long pos = off == HOSTFS_POS ? HOSTFS_POS : off + done;
		long n;

		if (write && copy_from_user(bounce, ubuf + done, chunk))
			return done ? (long)done : -EFAULT;
		n = hostfs(write ? HOSTFS_WRITE : HOSTFS_READ, f->hfd, virt_to_phys(bounce), chunk,
			   pos);
		if (n < 0)
			return done ? (long)done : n;
		if (!write && n && copy_to_user(ubuf + done, bounce, (unsigned long)n))
			return done ? (long)done : -EFAULT;
		done += (unsigned long)n;
		if ((unsigned long)n < chunk)
			break;
	}
	return (long)done;
}

static long file_rw(long fd, bool write, unsigned long ubuf, unsigned long len, unsigned long off)
{
	struct file *f = fget(fd);
	unsigned long acc;

	if (!f)
		return -EBADF;
	acc = f->flags & O_ACCMODE;
	if (write ? acc == 0 : acc == O_WRONLY)
		return -EBADF;
	if ((long)len < 0)
		return -EINVAL;
	if (f->type == FILE_PIPE_READ || f->type == FILE_PIPE_WRITE) {
		if (off != HOSTFS_POS)
			return -ESPIPE;
		return write ? pipe_write(pipe_of(f), ubuf, len) : pipe_read(pipe_of(f), ubuf, len);
	}
	return host_rw(f, write, ubuf, len, off);
}

long sys_read(long fd, unsigned long buf, unsigned long len)
{
	return file_rw(fd, false, buf, len, HOSTFS_POS);
}

/* A write to a pipe nobody reads (ours, or the host's stdout) is SIGPIPE first, as on Linux. */
static long write_result(long ret)
{
	if (ret == -EPIPE)
		signal_self(SIGPIPE);
	return ret;
}

long sys_write(long fd, unsigned long buf, unsigned long len)
{
	return write_result(file_rw(fd, true, buf, len, HOSTFS_POS));
}

long sys_pread64(long fd, unsigned long buf, unsigned long len, long off)
{
	return off < 0 ? -EINVAL : file_rw(fd, false, buf, len, (unsigned long)off);
}

long sys_pwrite64(long fd, unsigned long buf, unsigned long len, long off)
{
	return off < 0 ? -EINVAL : write_result(file_rw(fd, true, buf, len, (unsigned long)off));
}

/* readv(2) and writev(2): each iovec in turn, stopping at a short one. */
static long file_rwv(long fd, bool write, unsigned long uiov, long iovcnt)
{
	long total = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	for (long i = 0; i < iovcnt; i++) {
		unsigned long iov[2];
		long n;

		if (copy_from_user(iov, uiov + (unsigned long)i * 16, sizeof(iov)))
			return total ? total : -EFAULT;
		if (!iov[1])
			continue;
		n = file_rw(fd, write, iov[0], iov[1], HOSTFS_POS);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((unsigned long)n < iov[1])
			break;
	}
	return total;
}

long sys_readv(long fd, unsigned long iov, long iovcnt)
{
	return file_rwv(fd, false, iov, iovcnt);
}

long sys_writev(long fd, unsigned long iov, long iovcnt)
{
	return write_result(file_rwv(fd, true, iov, iovcnt));
}

/*
 * sendfile(2) between host files (what busybox cat does first): a chunk
 * at a time through the bounce buffer, never through the program's
 * memory.  From @uoff's offset (left past what was sent) or the input's
 * position.  A pipe at either end is -EINVAL, and the program falls back
 * to read and write, as on a kernel without splice.
 */
long sys_sendfile(long out_fd, long in_fd, unsigned long uoff, unsigned long count)
{
	struct file *in = fget(in_fd), *out = fget(out_fd);
	unsigned long done = 0, off = HOSTFS_POS;

	if (!in || !out || (in->flags & O_ACCMODE) == O_WRONLY || !(out->flags & O_ACCMODE))
		return -EBADF;
	if (in->type != FILE_HOST || out->type != FILE_HOST)
		return -EINVAL;
	if (uoff && copy_from_user(&off, uoff, sizeof(off)))
		return -EFAULT;
	while (done < count) {
		unsigned long chunk = MIN(count - done, BOUNCE_SIZE);
		long n = hostfs(HOSTFS_READ, in->hfd, virt_to_phys(bounce), chunk,
				uoff ? off + done : HOSTFS_POS),
		     w;

		if (n <= 0) {
			if (n < 0 && !done)
				return n;
			break;
		}
		w = hostfs(HOSTFS_WRITE, out->hfd, virt_to_phys(bounce), (unsigned long)n,
			   HOSTFS_POS);
		if (w < 0) {
			if (!done)
				return write_result(w);
			break;
		}
		done += (unsigned long)w;
		if (w < n || (unsigned long)n < chunk)
			break;
	}
	if (uoff) {
		off += done;
		if (copy_to_user(uoff, &off, sizeof(off)))
			return -EFAULT;
	}
	return (long)done;
}

/* Kernel reads of a file: mmap() of it, straight into a frame (kernel memory). */
long file_read_into(long fd, unsigned long pa, unsigned long len, unsigned long off)
{
	struct file *f = fget(fd);
	unsigned long done = 0;

	if (!f)
		return -EBADF;
	if (f->type != FILE_HOST)
		return -ENODEV;
	while (done < len) {
		long n = hostfs_pread(f->hfd, pa + done, len - done, off + done);

		if (n < 0)
			return n;
		if (!n)
			break;
		done += (unsigned long)n;
	}
	return (long)done;
}

/* fsync(2), fdatasync(2): a write is in the host's file when HOSTFS_WRITE returns. */
long sys_fsync(long fd)
{
	return fget(fd) ? 0 : -EBADF;
}

long sys_lseek(long fd, long off, long whence)
{
	struct file *f = fget(fd);

	if (!f)
		return -EBADF;
	if (f->type != FILE_HOST)
		return -ESPIPE;
	req = (struct hostfs_req){ .op = HOSTFS_LSEEK,
				   .fd = f->hfd,
				   .off = (unsigned long)off,
				   .flags = (unsigned long)whence };
	return hostfs_call(&req);
}

/* ---- open and close ---- */

long sys_openat(long dirfd, unsigned long upath, long flags, long mode)
{
	struct file *f;
	long len = resolve_path(dirfd, upath), fd, hfd;

	if (len < 0)
		return len;
	fd = fd_alloc(0);
	if (fd < 0)
		return fd;
	req = (struct hostfs_req){ .op = HOSTFS_OPEN,
				   .fd = -1,
				   .gpa = virt_to_phys(path_buf),
				   .len = (unsigned long)len,
				   .flags = (unsigned long)flags &
					    ~(unsigned long)(O_CLOEXEC | O_PATH),
				   .mode = (unsigned long)mode };
	hfd = hostfs_call(&req);
	if (hfd < 0)
		return hfd;
	f = file_alloc(FILE_HOST, (unsigned long)flags & ~(unsigned long)O_CLOEXEC);
	if (!f) {
		hostfs_close(hfd);
		return -EMFILE;
	}
	f->hfd = hfd;
	/* Kept for openat() relative to it; a longer one is refused there (ENOTDIR). */
	if ((unsigned long)len < 256)
		copy_bytes(f->path, path_buf, (unsigned long)len + 1);
	fd_install(fd, f, flags & O_CLOEXEC);
	return fd;
}

long sys_close(long fd)
{
	struct file *f = fget(fd);

	if (!f)
		return -EBADF;
	fd_table[fd].file = NULL;
	file_put(f);
	return 0;
}

/* ---- stat ---- */

static long host_fstat(struct file *f)
{
	if (f->type != FILE_HOST) {
		/* A pipe: what Linux's pipefs reports, roughly: a FIFO, owner-readable. */
		fill_bytes(bounce, 0, STAT_SIZE);
		*(unsigned int *)(bounce + 24) = S_IFIFO | 0600;
		*(unsigned long *)(bounce + 16) = 1;
		*(unsigned long *)(bounce + 56) = PAGE_SIZE;
		return 0;
	}
	return hostfs(HOSTFS_FSTAT, f->hfd, virt_to_phys(bounce), STAT_SIZE, 0);
}

/* The struct stat of @upath (or of @dirfd with AT_EMPTY_PATH and ""), into bounce. */
static long stat_into_bounce(long dirfd, unsigned long upath, long flags)
{
	long len;

	if (flags & AT_EMPTY_PATH) {
		char c = '\0';

		/* Linux 6.11 on takes a NULL path with AT_EMPTY_PATH as "". */
		if (upath && copy_from_user(&c, upath, 1))
			return -EFAULT;
		if (!c) {
			struct file *f = dirfd == AT_FDCWD ? NULL : fget(dirfd);

			if (dirfd == AT_FDCWD) {
				path_join(cwd, ".", path_buf, sizeof(path_buf));
				goto by_path;
			}
			return f ? host_fstat(f) : -EBADF;
		}
	}
	len = resolve_path(dirfd, upath);
	if (len < 0)
		return len;
by_path:
	req = (struct hostfs_req){ .op = HOSTFS_STAT,
				   .fd = -1,
				   .gpa = virt_to_phys(path_buf),
				   .len = strlen(path_buf),
				   .flags = (unsigned long)flags & AT_SYMLINK_NOFOLLOW,
				   .buf_gpa = virt_to_phys(bounce),
				   .buf_len = STAT_SIZE };
	return hostfs_call(&req);
}

long sys_fstat(long fd, unsigned long ustat)
{
	struct file *f = fget(fd);
	long ret;

	if (!f)
		return -EBADF;
	ret = host_fstat(f);
	if (ret < 0)
		return ret;
	return copy_to_user(ustat, bounce, STAT_SIZE);
}

long sys_newfstatat(long dirfd, unsigned long upath, unsigned long ustat, long flags)
{
	long ret = stat_into_bounce(dirfd, upath, flags);

	if (ret < 0)
		return ret;
	return copy_to_user(ustat, bounce, STAT_SIZE);
}

static void put32(char *p, unsigned long off, unsigned long v)
{
	*(unsigned int *)(p + off) = (unsigned int)v;
}

static void put64(char *p, unsigned long off, unsigned long v)
{
	*(unsigned long *)(p + off) = v;
}

static unsigned long get64(const char *p, unsigned long off)
{
	return *(const unsigned long *)(p + off);
}

/* statx(2) from a struct stat: the basic fields, as Linux's cp_statx() fills them. */
long sys_statx(long dirfd, unsigned long upath, long flags, unsigned long mask,
	       unsigned long ustatx)
{
	static char stx[STATX_SIZE];
	long ret = stat_into_bounce(dirfd, upath, flags);
	unsigned long dev, rdev;

	if (ret < 0)
		return ret;
	dev = get64(bounce, 0);
	rdev = get64(bounce, 40);
	fill_bytes(stx, 0, sizeof(stx));
	put32(stx, 0, 0x7ff);				/* STATX_BASIC_STATS */
	put32(stx, 4, get64(bounce, 56));		/* blksize */
	put32(stx, 16, get64(bounce, 16));		/* nlink */
	put32(stx, 20, *(unsigned int *)(bounce + 28)); /* uid */
	put32(stx, 24, *(unsigned int *)(bounce + 32)); /* gid */
	*(unsigned short *)(stx + 28) = (unsigned short)*(unsigned int *)(bounce + 24);
	put64(stx, 32, get64(bounce, 8));  /* ino */
	put64(stx, 40, get64(bounce, 48)); /* size */
	put64(stx, 48, get64(bounce, 64)); /* blocks */
	put64(stx, 64, get64(bounce, 72)); /* atime */
	put32(stx, 72, get64(bounce, 80));
	put64(stx, 96, get64(bounce, 104)); /* ctime */
	put32(stx, 104, get64(bounce, 112));
	put64(stx, 112, get64(bounce, 88)); /* mtime */
	put32(stx, 120, get64(bounce, 96));
	put32(stx, 128, (rdev >> 8 & 0xfff) | (rdev >> 32 & ~0xfffUL));
	put32(stx, 132, (rdev & 0xff) | (rdev >> 12 & ~0xffUL));
	put32(stx, 136, (dev >> 8 & 0xfff) | (dev >> 32 & ~0xfffUL));
	put32(stx, 140, (dev & 0xff) | (dev >> 12 & ~0xffUL));
	return copy_to_user(ustatx, stx, sizeof(stx));
}

/* ---- directories, links, access, cwd ---- */

long sys_getdents64(long fd, unsigned long buf, unsigned long len)
{
	struct file *f = fget(fd);
	long n;

	if (!f)
		return -EBADF;
	if (f->type != FILE_HOST)
		return -ENOTDIR;
	n = hostfs(HOSTFS_GETDENTS64, f->hfd, virt_to_phys(bounce), MIN(len, BOUNCE_SIZE), 0);
	if (n > 0 && copy_to_user(buf, bounce, (unsigned long)n))
		return -EFAULT;
	return n;
}

long sys_readlinkat(long dirfd, unsigned long upath, unsigned long buf, unsigned long len)
{
	long plen = resolve_path(dirfd, upath), n;

	if (plen < 0)
		return plen;
	if ((long)len <= 0)
		return -EINVAL;
	/* /proc/self/exe: the program as the user named it (exec_info). */
	if (!strcmp(path_buf, "/proc/self/exe")) {
		static char exe[PATH_MAX];

		/* Absolute, as the kernel's is: glibc's _dl_get_origin() asserts it. */
		if (path_join("/", exec_program_path(), exe, sizeof(exe)) < 0)
			return -ENAMETOOLONG;

		n = (long)MIN(strlen(exe), len);
		return copy_to_user(buf, exe, (unsigned long)n) ? -EFAULT : n;
	}
	req = (struct hostfs_req){ .op = HOSTFS_READLINK,
				   .fd = -1,
				   .gpa = virt_to_phys(path_buf),
				   .len = (unsigned long)plen,
				   .buf_gpa = virt_to_phys(bounce),
				   .buf_len = MIN(len, BOUNCE_SIZE) };
	n = hostfs_call(&req);
	if (n > 0 && copy_to_user(buf, bounce, (unsigned long)n))
		return -EFAULT;
	return n;
}

long sys_faccessat(long dirfd, unsigned long upath, long mode)
{
	long len = resolve_path(dirfd, upath);

	if (len < 0)
		return len;
	req = (struct hostfs_req){ .op = HOSTFS_ACCESS,
				   .fd = -1,
				   .gpa = virt_to_phys(path_buf),
				   .len = (unsigned long)len,
				   .mode = (unsigned long)mode };
	return hostfs_call(&req);
}

long sys_getcwd(unsigned long buf, unsigned long size)
{
	unsigned long len = strlen(cwd) + 1;

	if (size < len)
		return -ERANGE;
	return copy_to_user(buf, cwd, len) ? -EFAULT : (long)len;
}

long sys_chdir(unsigned long upath)
{
	long len = resolve_path(AT_FDCWD, upath), ret;

	if (len < 0)
		return len;
	ret = stat_into_bounce(AT_FDCWD, upath, 0);
	if (ret < 0)
		return ret;
	if ((*(unsigned int *)(bounce + 24) & S_IFMT) != S_IFDIR)
		return -ENOTDIR;
	copy_bytes(cwd, path_buf, (unsigned long)len + 1);
	return 0;
}

/* ---- descriptors ---- */

static long do_dup(long oldfd, long newfd, bool cloexec)
{
	struct file *f = fget(oldfd);

	if (!f)
		return -EBADF;
	if (newfd < 0 || newfd >= NR_FDS)
		return -EBADF;
	if (fd_table[newfd].file)
		sys_close(newfd);
	f->refs++;
	fd_install(newfd, f, cloexec);
	return newfd;
}

long sys_dup(long fd)
{
	long newfd = fd_alloc(0);

	return newfd < 0 ? newfd : do_dup(fd, newfd, false);
}

/* dup2() is dup3() with flags 0, except that dup2(fd, fd) is fd: syscall.c sees to it. */
long sys_dup3(long oldfd, long newfd, long flags)
{
	if (flags & ~O_CLOEXEC || oldfd == newfd)
		return -EINVAL;
	return do_dup(oldfd, newfd, flags & O_CLOEXEC);
}

long sys_fcntl(long fd, long cmd, unsigned long arg)
{
	struct file *f = fget(fd);
	long newfd;

	if (!f)
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		newfd = fd_alloc((long)arg);
		return newfd < 0 ? newfd : do_dup(fd, newfd, cmd == F_DUPFD_CLOEXEC);
	case F_GETFD:
		return fd_table[fd].cloexec ? FD_CLOEXEC : 0;
	case F_SETFD:
		fd_table[fd].cloexec = arg & FD_CLOEXEC;
		return 0;
	case F_GETFL:
		return (long)f->flags;
	case F_SETFL:
		f->flags = (f->flags & ~(unsigned long)(O_APPEND | O_NONBLOCK)) |
			   (arg & (O_APPEND | O_NONBLOCK));
		return 0;
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		/* Record locks: one process holds every lock it asks for. */
		return 0;
	case F_GETLK:
	case F_OFD_GETLK: {
		short type = F_UNLCK;

		return copy_to_user(arg, &type, sizeof(type));
	}
	}
	return -EINVAL;
}

long sys_pipe2(unsigned long ufds, long flags)
{
	struct pipe *p = NULL;
	struct file *r, *w;
	int fds[2];

	if (flags & ~(long)(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	for (unsigned int i = 0; i < NR_PIPES && !p; i++)
		if (!pipes[i].readers && !pipes[i].writers)
			p = &pipes[i];
	if (!p)
		return -ENFILE;
	fds[0] = (int)fd_alloc(0);
	if (fds[0] < 0)
		return fds[0];
	r = file_alloc(FILE_PIPE_READ, (unsigned long)flags & O_NONBLOCK);
	if (!r)
		return -EMFILE;
	fd_install(fds[0], r, flags & O_CLOEXEC);
	fds[1] = (int)fd_alloc(0);
	w = fds[1] < 0 ?
		    NULL :
		    file_alloc(FILE_PIPE_WRITE, O_WRONLY | ((unsigned long)flags & O_NONBLOCK));
	if (!w) {
		fd_table[fds[0]].file = NULL;
		r->type = FILE_NONE;
		return -EMFILE;
	}
	fd_install(fds[1], w, flags & O_CLOEXEC);
	r->pipe = w->pipe = p;
	p->readers = p->writers = 1;
	if (copy_to_user(ufds, fds, sizeof(fds))) {
		sys_close(fds[0]);
		sys_close(fds[1]);
		return -EFAULT;
	}
	return 0;
}

/* poll(2) events. */
#define POLLIN 0x1
#define POLLOUT 0x4
#define POLLHUP 0x10
#define POLLNVAL 0x20

/*
 * What poll() sees of one open file, never waiting: a host file is always
 * ready (a read of a host pipe or terminal then waits in the VMM, as a
 * read after a poll that said ready would), a pipe by what it holds.
 */
static unsigned int poll_file(struct file *f, unsigned int events)
{
	struct pipe *p = f->pipe;

	if (f->type == FILE_PIPE_READ)
		return (p->len ? POLLIN : 0) | (p->writers ? 0 : POLLHUP);
	if (f->type == FILE_PIPE_WRITE)
		return p->readers ? (p->len < PIPE_SIZE ? POLLOUT : 0) : POLLHUP;
	return events & (POLLIN | POLLOUT);
}

/*
 * poll(2) and ppoll(2): the ready descriptors now.  One process has no
 * one to wait for, so the timeout is not waited out: nothing ready is 0.
 */
long sys_poll(unsigned long ufds, unsigned long nfds)
{
	long ready = 0;

	if (nfds > NR_FDS)
		return -EINVAL;
	for (unsigned long i = 0; i < nfds; i++) {
		struct {
			int fd;
			short events, revents;
		} pfd;
		unsigned int revents = 0;

		if (copy_from_user(&pfd, ufds + i * sizeof(pfd), sizeof(pfd)))
			return -EFAULT;
		if (pfd.fd >= 0) {
			struct file *f = fget(pfd.fd);

			revents = f ? poll_file(f, (unsigned short)pfd.events) : POLLNVAL;
		}
		pfd.revents = (short)revents;
		ready += revents != 0;
		if (copy_to_user(ufds + i * sizeof(pfd), &pfd, sizeof(pfd)))
			return -EFAULT;
	}
	return ready;
}

/*
 * TCGETS and TIOCGWINSZ, what isatty() and stdio's buffering ask: -ENOTTY
 * unless the VMM says the handle is a terminal, then a cooked terminal's
 * settings and 80x24.
 */
long sys_ioctl(long fd, unsigned long cmd, unsigned long arg)
{
	static const unsigned int termios[9] = { 0x500, 0x5, 0xbf, 0x8a3b };
	static const unsigned short winsize[4] = { 24, 80, 0, 0 };
	struct file *f = fget(fd);

	if (!f)
		return -EBADF;
	if (f->type != FILE_HOST || hostfs(HOSTFS_ISATTY, f->hfd, 0, 0, 0) != 1)
		return -ENOTTY;
	if (cmd == TCGETS)
		return copy_to_user(arg, termios, 36);
	if (cmd == TIOCGWINSZ)
		return copy_to_user(arg, winsize, sizeof(winsize));
	return -ENOTTY;
}
