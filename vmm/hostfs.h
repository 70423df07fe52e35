/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host file interface behind HC_HOSTFS (guest/abi.h, enum hostfs_op):
 * a per-VM table of host file handles that `nopin exec`'s guest kernel
 * opens, reads and writes on the program's behalf.
 *
 *	struct vmm_hostfs fs;
 *	hostfs_init(&fs, vm, "/some/root", false, program_fd, err, sizeof(err));
 *	ret = hostfs_call(&fs, req_gpa);	 the guest's struct hostfs_req
 *	hostfs_destroy(&fs);
 *
 * What the guest can reach, and nothing else:
 *  - handles 0, 1 and 2, the VMM's own stdin, stdout and stderr (never
 *    closed on the host: the VMM still needs them), and 3, the program
 *    file, read-only;
 *  - paths resolved inside the root directory by openat2(2) with
 *    RESOLVE_IN_ROOT, so `..`, absolute paths and absolute symlinks stop
 *    at the root, as a chroot's would, and with RESOLVE_NO_MAGICLINKS, so
 *    a /proc/self/fd link (the root may hold a /proc) cannot lead out;
 *  - writes only with --rw: opening for writing or creating, and writing
 *    to a handle other than 0-2, are -EROFS without it.
 *
 * Every buffer, and the request itself, is guest-physical and is read and
 * written through the VMM's host mm (vmm_read_guest()/vmm_store_guest()),
 * one guest page at a time through a bounce buffer of HOSTFS_CHUNK bytes,
 * so the host may reclaim or migrate any of those pages between two
 * pieces of the same call: nothing is pinned for a call's duration.
 *
 * Calls are serialized by the table's mutex, held for the whole call (a
 * read of a terminal blocks the other vCPUs' host file calls, not their
 * guest code); it is outside the host mm's locks, which the copies take.
 */
#ifndef NOPIN_VMM_HOSTFS_H
#define NOPIN_VMM_HOSTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mutex.h"
#include "guest/abi.h"

struct vmm;

/* The most one host read, write or getdents64 moves; a larger call loops. */
#define HOSTFS_CHUNK (64UL << 10)

struct hostfs_handle {
	int fd;	     /* the host's, or -1: the slot is free */
	bool owned;  /* ours to close (not the VMM's stdin, stdout, stderr) */
	bool std;    /* 0-2: written without --rw, as the program's terminal */
	bool stream; /* not a regular file: one read per call, not a loop that could block */
};

struct vmm_hostfs {
	struct vmm *vm;
	int root_fd; /* O_PATH of the root directory */
	bool rw;
	struct mutex lock; /* one call at a time: the table and the bounce buffer */
	struct hostfs_handle handles[HOSTFS_MAX_FDS];
	char *bounce; /* HOSTFS_CHUNK bytes */
	/*
	 * Tests: called (under the lock, no host mm lock held) after each
	 * piece of a guest buffer was read or written, with the guest
	 * address of that piece, so a test can reclaim the next page while
	 * the call runs.
	 */
	void (*after_piece)(void *arg, uint64_t gpa);
	void *after_piece_arg;
};

/*
 * Set up @fs for @vm: the root directory @root (NULL: the current
 * directory), writes allowed if @rw, handles 0-2 the VMM's stdio and 3
 * @program_fd (taken over: closed by hostfs_destroy(); -1 for none).  0, or
 * -errno with the reason in @err (the root is not a directory ...).
 */
int hostfs_init(struct vmm_hostfs *fs, struct vmm *vm, const char *root, bool rw, int program_fd,
		char *err, size_t errlen);
void hostfs_destroy(struct vmm_hostfs *fs);

/*
 * HC_HOSTFS: serve the struct hostfs_req at guest-physical @req_gpa and
 * store its answer in the request's ret.  Returns that answer: >= 0, or
 * -errno (-EFAULT for a request or buffer outside guest RAM, -EBADF for a
 * handle not in the table, -EINVAL for an unknown op or flag, -EROFS for
 * a write without --rw, or the host's own errno).
 */
long hostfs_call(struct vmm_hostfs *fs, uint64_t req_gpa);

#endif
