// SPDX-License-Identifier: GPL-2.0
/*
 * The host file interface behind HC_HOSTFS (vmm/hostfs.h says what the
 * guest can reach; guest/README.md documents each op).  Each op checks
 * its request as a system call checks its arguments, then makes the one
 * host call that does the work, on a host fd from the table or one that
 * openat2(2) resolved inside the root: the guest never names a host path
 * or fd itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mm/page.h"
#include "vmm/hostfs.h"
#include "vmm/vm.h"

/*
 * The kernel's O_LARGEFILE, which a guest may pass (the x86-64 C
 * libraries define it as 0, the kernel does not): meaningless on a 64-bit
 * host, so dropped.
 */
#define HOSTFS_O_LARGEFILE 0100000

/* The open flags a guest may pass; anything else (O_PATH, O_TMPFILE, O_DIRECT ...) is -EINVAL. */
#define HOSTFS_OPEN_FLAGS                                                                          \
	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW |            \
	 O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOATIME | O_SYNC | O_DSYNC | HOSTFS_O_LARGEFILE)

/* openat2's RESOLVE_IN_ROOT can fail with EAGAIN when a rename races the walk: try again. */
#define HOSTFS_RESOLVE_TRIES 16

/* A guest struct stat is the host's: the x86-64 Linux layout. */
BUILD_BUG_ON(sizeof(struct stat) != 144);

static bool guest_range_ok(struct vmm *vm, uint64_t gpa, uint64_t len)
{
	if (!len)
		return true;
	return gpa >= GUEST_RAM_BASE && gpa + len > gpa &&
	       gpa + len <= GUEST_RAM_BASE + vm->cfg.mem_bytes;
}

static size_t piece(uint64_t gpa, size_t len)
{
	return min(len, (size_t)(PAGE_SIZE - (gpa & (PAGE_SIZE - 1))));
}

/*
 * Guest [gpa, gpa + len) to @buf, a guest page at a time, each piece its
 * own trip through the host mm: between two, the host may take the page
 * just read or the next one, and the copy faults it back.
 */
static int copy_from_guest(struct vmm_hostfs *fs, void *buf, uint64_t gpa, size_t len)
{
	while (len) {
		size_t n = piece(gpa, len);
		int ret = vmm_read_guest(fs->vm, gpa, buf, n);

		if (ret)
			return ret;
		if (fs->after_piece)
			fs->after_piece(fs->after_piece_arg, gpa);
		buf = (char *)buf + n;
		gpa += n;
		len -= n;
	}
	return 0;
}

static int copy_to_guest(struct vmm_hostfs *fs, uint64_t gpa, const void *buf, size_t len)
{
	while (len) {
		size_t n = piece(gpa, len);
		int ret = vmm_store_guest(fs->vm, gpa, buf, n);

		if (ret)
			return ret;
		if (fs->after_piece)
			fs->after_piece(fs->after_piece_arg, gpa);
		buf = (const char *)buf + n;
		gpa += n;
		len -= n;
	}
	return 0;
}

/*
 * A host call interrupted by a kick (the kvm backend's SIGUSR1 has no
 * SA_RESTART) is made again, unless the VM is stopping: then the guest
 * will not see the answer anyway, and a read of a terminal must not hold
 * up the end of the run.
 */
static bool retry_eintr(struct vmm_hostfs *fs)
{
	return errno == EINTR && !vmm_stopping(fs->vm);
}

static struct hostfs_handle *handle(struct vmm_hostfs *fs, long fd)
{
	if (fd < 0 || fd >= HOSTFS_MAX_FDS || fs->handles[fd].fd < 0)
		return NULL;
	return &fs->handles[fd];
}

/* The request's path, NUL-terminated, into @path (PATH_MAX bytes). */
static long read_path(struct vmm_hostfs *fs, const struct hostfs_req *req, char *path)
{
	long ret;

	if (!req->len)
		return -ENOENT; /* as the empty path of open(2) */
	if (req->len >= PATH_MAX)
		return -ENAMETOOLONG;
	if (!guest_range_ok(fs->vm, req->gpa, req->len))
		return -EFAULT;
	ret = copy_from_guest(fs, path, req->gpa, req->len);
	if (ret)
		return ret;
	/* The ABI's paths have no NUL: one inside would cut the path the host sees. */
	if (memchr(path, '\0', req->len))
		return -EINVAL;
	path[req->len] = '\0';
	return 0;
}

/*
 * The one way a guest path reaches the host: resolved under the root fd
 * as if the root were "/", with no magic link followed.  Returns a host fd
 * or -errno.
 */
static int open_in_root(struct vmm_hostfs *fs, const char *path, uint64_t flags, uint64_t mode)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.mode = mode,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	/* A terminal the guest opens is not the VMM's controlling one; O_PATH takes no such flag. */
	if (!(flags & O_PATH))
		how.flags |= O_NOCTTY;

	for (int tries = 0; tries < HOSTFS_RESOLVE_TRIES; tries++) {
		long fd = syscall(SYS_openat2, fs->root_fd, path, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && !retry_eintr(fs))
			break;
	}
	return -errno;
}

static long hostfs_open(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	char path[PATH_MAX];
	uint64_t flags = req->flags, acc = flags & O_ACCMODE;
	struct stat st;
	long ret, slot;
	int fd;

	if (flags & ~(uint64_t)HOSTFS_OPEN_FLAGS || acc == O_ACCMODE)
		return -EINVAL;
	ret = read_path(fs, req, path);
	if (ret)
		return ret;
	if (!fs->rw && (acc != O_RDONLY || flags & (O_CREAT | O_TRUNC)))
		return -EROFS;
	for (slot = 0; slot < HOSTFS_MAX_FDS; slot++)
		if (fs->handles[slot].fd < 0)
			break;
	if (slot == HOSTFS_MAX_FDS)
		return -EMFILE;
	flags &= ~(uint64_t)HOSTFS_O_LARGEFILE;
	fd = open_in_root(fs, path, flags, flags & O_CREAT ? req->mode & 07777 : 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	fs->handles[slot] = (struct hostfs_handle){
		.fd = fd,
		.owned = true,
		.stream = !S_ISREG(st.st_mode),
	};
	return slot;
}

static long hostfs_close(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	struct hostfs_handle *h = handle(fs, req->fd);

	if (!h)
		return -EBADF;
	/* The VMM's own stdio stays open for it; the guest only loses the handle. */
	if (h->owned)
		close(h->fd);
	h->fd = -1;
	return 0;
}

/*
 * READ and WRITE move up to HOSTFS_CHUNK bytes per host call and loop for
 * more, as read(2) on a regular file returns all it can; a stream (a
 * terminal, a pipe) gets one host call, which returns what is there
 * rather than blocking for the rest.  An error after some bytes moved
 * returns those bytes, as the kernel's read(2) does.
 *
 * A stream may block for ever (a terminal nobody types at, a pipe nobody
 * drains), and the run must still end at a signal or another vCPU's stop:
 * so each host call on one waits first, in vmm_wait_fd(), until the fd is
 * ready or the run stops.  Ready for reading, one read(2) does not block;
 * ready for writing, a pipe has room for PIPE_BUF bytes, so a stream is
 * written that much at a time.
 */
static long stream_wait(struct vmm_hostfs *fs, struct hostfs_handle *h, short events)
{
	return h->stream ? vmm_wait_fd(fs->vm, h->fd, events) : 0;
}

static long hostfs_read(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	struct hostfs_handle *h = handle(fs, req->fd);
	bool pos = req->off == HOSTFS_POS;
	size_t done = 0;

	if (!h)
		return -EBADF;
	if (!guest_range_ok(fs->vm, req->gpa, req->len))
		return -EFAULT;
	while (done < req->len) {
		size_t n = min((size_t)(req->len - done), HOSTFS_CHUNK);
		long ret = stream_wait(fs, h, POLLIN);
		ssize_t r;

		if (ret)
			return done ? (long)done : ret;
		r = pos ? read(h->fd, fs->bounce, n) :
			  pread(h->fd, fs->bounce, n, (off_t)(req->off + done));
		if (r < 0) {
			if (retry_eintr(fs))
				continue;
			return done ? (long)done : -errno;
		}
		ret = copy_to_guest(fs, req->gpa + done, fs->bounce, r);
		if (ret)
			return ret;
		done += r;
		if ((size_t)r < n || h->stream)
			break;
	}
	return done;
}

static long hostfs_write(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	struct hostfs_handle *h = handle(fs, req->fd);
	bool pos = req->off == HOSTFS_POS;
	size_t done = 0;

	if (!h)
		return -EBADF;
	if (!fs->rw && !h->std)
		return -EROFS;
	if (!guest_range_ok(fs->vm, req->gpa, req->len))
		return -EFAULT;
	while (done < req->len) {
		size_t n = min((size_t)(req->len - done), h->stream ? PIPE_BUF : HOSTFS_CHUNK);
		ssize_t w;
		long ret = copy_from_guest(fs, fs->bounce, req->gpa + done, n);

		if (ret)
			return ret;
		do {
			ret = stream_wait(fs, h, POLLOUT);
			if (ret)
				return done ? (long)done : ret;
			w = pos ? write(h->fd, fs->bounce, n) :
				  pwrite(h->fd, fs->bounce, n, (off_t)(req->off + done));
		} while (w < 0 && retry_eintr(fs));
		if (w < 0)
			return done ? (long)done : -errno;
		done += w;
		if ((size_t)w < n)
			break;
	}
	return done;
}

static long hostfs_lseek(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	struct hostfs_handle *h = handle(fs, req->fd);
	off_t r;

	if (!h)
		return -EBADF;
	if (req->flags > SEEK_HOLE)
		return -EINVAL;
	r = lseek(h->fd, (off_t)req->off, (int)req->flags);
	return r < 0 ? -errno : r;
}

/* A struct stat to the guest's buffer, which must hold one. */
static long put_stat(struct vmm_hostfs *fs, const struct stat *st, uint64_t gpa, uint64_t len)
{
	if (len < sizeof(*st))
		return -EINVAL;
	if (!guest_range_ok(fs->vm, gpa, sizeof(*st)))
		return -EFAULT;
	return copy_to_guest(fs, gpa, st, sizeof(*st));
}

static long hostfs_fstat(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	struct hostfs_handle *h = handle(fs, req->fd);
	struct stat st;

	if (!h)
		return -EBADF;
	if (fstat(h->fd, &st))
		return -errno;
	return put_stat(fs, &st, req->gpa, req->len);
}

/*
 * STAT, READLINK and ACCESS first resolve the path to an O_PATH fd in the
 * root (fstatat(2), readlinkat(2) and faccessat(2) have no
 * RESOLVE_IN_ROOT), then ask about that fd alone.
 */
static long hostfs_stat(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	char path[PATH_MAX];
	struct stat st;
	long ret;
	int fd;

	if (req->flags & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))
		return -EINVAL;
	ret = read_path(fs, req, path);
	if (ret)
		return ret;
	/* O_PATH with O_NOFOLLOW opens the link itself, whose fstat is lstat. */
	fd = open_in_root(fs, path, O_PATH | (req->flags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0),
			  0);
	if (fd < 0)
		return fd;
	ret = fstat(fd, &st) ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	return put_stat(fs, &st, req->buf_gpa, req->buf_len);
}

static long hostfs_readlink(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	size_t len = min((size_t)req->buf_len, (size_t)PATH_MAX);
	char path[PATH_MAX];
	struct stat st;
	ssize_t r;
	long ret;
	int fd;

	ret = read_path(fs, req, path);
	if (ret)
		return ret;
	if (!len)
		return -EINVAL;
	if (!guest_range_ok(fs->vm, req->buf_gpa, len))
		return -EFAULT;
	fd = open_in_root(fs, path, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0)
		return fd;
	/* readlink(2) of what is not a link is -EINVAL; readlinkat(fd, "") would say -ENOENT. */
	if (fstat(fd, &st))
		r = -errno;
	else if (!S_ISLNK(st.st_mode))
		r = -EINVAL;
	else if ((r = readlinkat(fd, "", fs->bounce, len)) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	ret = copy_to_guest(fs, req->buf_gpa, fs->bounce, r);
	return ret ? ret : r;
}

static long hostfs_access(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	char path[PATH_MAX];
	struct stat st;
	long ret;
	int fd;

	if (req->mode & ~(uint64_t)(R_OK | W_OK | X_OK))
		return -EINVAL;
	ret = read_path(fs, req, path);
	if (ret)
		return ret;
	fd = open_in_root(fs, path, O_PATH, 0);
	if (fd < 0)
		return fd;
	/* As access(2) on a read-only mount: files and directories cannot be written. */
	if (req->mode & W_OK && !fs->rw) {
		if (fstat(fd, &st))
			ret = -errno;
		else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			ret = -EROFS;
	}
	if (!ret && syscall(SYS_faccessat2, fd, "", (int)req->mode, AT_EMPTY_PATH))
		ret = -errno;
	close(fd);
	return ret;
}

static long hostfs_getdents64(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	struct hostfs_handle *h = handle(fs, req->fd);
	size_t n = min((size_t)req->len, HOSTFS_CHUNK);
	long r, ret;

	if (!h)
		return -EBADF;
	if (!guest_range_ok(fs->vm, req->gpa, n))
		return -EFAULT;
	/* One host call: its records end where they end, at most HOSTFS_CHUNK bytes. */
	do {
		r = syscall(SYS_getdents64, h->fd, fs->bounce, n);
	} while (r < 0 && retry_eintr(fs));
	if (r < 0)
		return -errno;
	ret = copy_to_guest(fs, req->gpa, fs->bounce, r);
	return ret ? ret : r;
}

static long hostfs_isatty(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	struct hostfs_handle *h = handle(fs, req->fd);

	if (!h)
		return -EBADF;
	return isatty(h->fd) ? 1 : 0;
}

static long hostfs_op(struct vmm_hostfs *fs, const struct hostfs_req *req)
{
	switch (req->op) {
	case HOSTFS_OPEN:
		return hostfs_open(fs, req);
	case HOSTFS_CLOSE:
		return hostfs_close(fs, req);
	case HOSTFS_READ:
		return hostfs_read(fs, req);
	case HOSTFS_WRITE:
		return hostfs_write(fs, req);
	case HOSTFS_LSEEK:
		return hostfs_lseek(fs, req);
	case HOSTFS_FSTAT:
		return hostfs_fstat(fs, req);
	case HOSTFS_STAT:
		return hostfs_stat(fs, req);
	case HOSTFS_GETDENTS64:
		return hostfs_getdents64(fs, req);
	case HOSTFS_READLINK:
		return hostfs_readlink(fs, req);
	case HOSTFS_ACCESS:
		return hostfs_access(fs, req);
	case HOSTFS_ISATTY:
		return hostfs_isatty(fs, req);
	}
	return -EINVAL;
}

long hostfs_call(struct vmm_hostfs *fs, uint64_t req_gpa)
{
	struct hostfs_req req;
	long ret;
	int err;

	if (!guest_range_ok(fs->vm, req_gpa, sizeof(req)))
		return -EFAULT;
	mutex_lock(&fs->lock);
	ret = copy_from_guest(fs, &req, req_gpa, sizeof(req));
	if (!ret)
		ret = hostfs_op(fs, &req);
	/* The answer goes to the request's ret as well as to rax, as the ABI says. */
	err = copy_to_guest(fs, req_gpa + offsetof(struct hostfs_req, ret), &ret, sizeof(ret));
	mutex_unlock(&fs->lock);
	return err ? err : ret;
}

int hostfs_init(struct vmm_hostfs *fs, struct vmm *vm, const char *root, bool rw, int program_fd,
		char *err, size_t errlen)
{
	struct stat st;

	memset(fs, 0, sizeof(*fs));
	fs->vm = vm;
	fs->rw = rw;
	mutex_init(&fs->lock);
	for (int i = 0; i < HOSTFS_MAX_FDS; i++)
		fs->handles[i].fd = -1;
	root = root ? root : ".";
	fs->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_fd < 0) {
		int ret = -errno;

		snprintf(err, errlen, "cannot use --root %s: %s", root, strerror(errno));
		if (program_fd >= 0)
			close(program_fd);
		return ret;
	}
	fs->bounce = malloc(HOSTFS_CHUNK);
	if (!fs->bounce) {
		snprintf(err, errlen, "no memory for the host file interface");
		hostfs_destroy(fs);
		if (program_fd >= 0)
			close(program_fd);
		return -ENOMEM;
	}
	for (int i = HOSTFS_FD_STDIN; i <= HOSTFS_FD_STDERR; i++) {
		fs->handles[i] = (struct hostfs_handle){ .fd = i, .std = true, .stream = true };
		if (!fstat(i, &st) && S_ISREG(st.st_mode))
			fs->handles[i].stream = false;
	}
	if (program_fd >= 0)
		fs->handles[HOSTFS_FD_PROGRAM] =
			(struct hostfs_handle){ .fd = program_fd, .owned = true };
	return 0;
}

void hostfs_destroy(struct vmm_hostfs *fs)
{
	for (int i = 0; i < HOSTFS_MAX_FDS; i++)
		if (fs->handles[i].fd >= 0 && fs->handles[i].owned)
			close(fs->handles[i].fd);
	if (fs->root_fd >= 0)
		close(fs->root_fd);
	fs->root_fd = -1;
	free(fs->bounce);
	fs->bounce = NULL;
}
