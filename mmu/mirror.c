// SPDX-License-Identifier: GPL-2.0
/*
 * The mirror device (see mirror.h), after lib/test_hmm.c's dmirror.
 *
 * The device page table is a tree of entries by virtual page number, each
 * the frame's stamp and whether the device may write through it.  It holds
 * no reference: a host page may be freed the moment the host has told us,
 * and the one way the host tells us is the interval notifier, whose
 * invalidate takes the device lock and drops the entries of the range.
 * Every device access copies data under that same lock, so a page the
 * device is reading cannot be freed under it: its invalidation waits for
 * the lock first.
 *
 * Filling the table is the collision-retry loop of mm/mmu_notifier.h: take
 * the sequence, look the pages up without keeping any (the hmm_range_fault
 * of this model: a short reference per page, dropped at once), then under
 * the lock install them only if no invalidation began meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/sys/tree.h>

#include "base/bug.h"
#include "base/err.h"
#include "base/mutex.h"
#include "base/sched_point.h"
#include "mm/mmu_notifier.h"
#include "mm/sanitizer.h"
#include "mmu/mirror.h"

/* Pages faulted per loop, as dmirror's 64-page chunks. */
#define MIRROR_FAULT_CHUNK 64UL

struct mirror_entry {
	RB_ENTRY(mirror_entry) rb;
	unsigned long index; /* virtual address >> PAGE_SHIFT */
	struct frame_stamp stamp;
	bool writable;
};

RB_HEAD(mirror_pt, mirror_entry);

struct mirror {
	struct mmu_interval_notifier notifier;
	struct mm_struct *mm;
	/* The device page table and everything below; orders set_seq against read_retry. */
	struct mutex mutex;
	struct mirror_pt pt;
	unsigned long nr_entries;
	unsigned long faults;
	unsigned long invalidations;
};

static int mirror_entry_cmp(struct mirror_entry *a, struct mirror_entry *b)
{
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return 0;
}

/* RB_GENERATE_STATIC spelled out: libbsd leaves BSD's __unused undefined. */
RB_GENERATE_INTERNAL(mirror_pt, mirror_entry, rb, mirror_entry_cmp, __maybe_unused static)

/* One page as the host maps it, looked up without keeping a reference. */
struct mirror_pfn {
	struct frame_stamp stamp;
	bool writable;
	uint8_t prot; /* MIRROR_PROT_* (snapshot) */
};

static struct mirror_entry *mirror_pt_lookup(struct mirror *m, unsigned long index)
{
	struct mirror_entry key = { .index = index };

	return RB_FIND(mirror_pt, &m->pt, &key);
}

/* ---- teardown: the interval notifier ---- */

/*
 * Drop the entries of [start, end).  Each frame must still be what the
 * entry was made from: the host announces a range before it frees the
 * pages, so a frame found freed here is a host path that did not.
 */
static void mirror_zap_range(struct mirror *m, unsigned long start, unsigned long end)
{
	struct mirror_entry key = { .index = start >> PAGE_SHIFT };
	unsigned long last = (end - 1) >> PAGE_SHIFT;
	struct mirror_entry *e, *next;

	lockdep_assert_held(&m->mutex);
	for (e = RB_NFIND(mirror_pt, &m->pt, &key); e && e->index <= last; e = next) {
		struct frame_access acc = {
			.addr = e->index << PAGE_SHIFT,
			.size = 1,
			.who = "mirror zap",
		};

		next = RB_NEXT(mirror_pt, &m->pt, e);
		frame_check_stamp(m->mm->pool, &e->stamp, &acc);
		RB_REMOVE(mirror_pt, &m->pt, e);
		free(e);
		m->nr_entries--;
	}
}

/*
 * The host is about to change [range->start, range->end): record the new
 * sequence, so that a fault that looked pages up before now retries, and
 * drop the entries.  A non-blockable range (the OOM reaper) must not
 * sleep on the lock: refuse it if the lock is busy.
 */
static bool mirror_interval_invalidate(struct mmu_interval_notifier *mni,
				       const struct mmu_notifier_range *range,
				       unsigned long cur_seq)
{
	struct mirror *m = container_of(mni, struct mirror, notifier);

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&m->mutex);
	else if (!mutex_trylock(&m->mutex))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	mirror_zap_range(m, range->start, range->end);
	m->invalidations++;

	mutex_unlock(&m->mutex);
	return true;
}

static const struct mmu_interval_notifier_ops mirror_min_ops = {
	.invalidate = mirror_interval_invalidate,
};

struct mirror *mirror_open(struct mm_struct *mm)
{
	struct mirror *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return ERR_PTR(-ENOMEM);
	m->mm = mm;
	mutex_init(&m->mutex);
	RB_INIT(&m->pt);
	/* One interval over the whole address space, as dmirror has. */
	ret = mmu_interval_notifier_insert(&m->notifier, mm, 0, TASK_SIZE, &mirror_min_ops);
	if (ret) {
		free(m);
		return ERR_PTR(ret);
	}
	return m;
}

void mirror_close(struct mirror *m)
{
	/* After this no invalidate runs: the table is ours alone. */
	mmu_interval_notifier_remove(&m->notifier);
	mutex_lock(&m->mutex);
	mirror_zap_range(m, 0, TASK_SIZE);
	mutex_unlock(&m->mutex);
	free(m);
}

/* ---- looking pages up: the hmm_range_fault of this model ---- */

/*
 * What the VMA allows, checked before the lookup so that a write to a
 * read-only mapping is -EPERM (the device asked for something the host
 * forbids), as hmm_range_fault() reports it, not a generic -EFAULT.
 */
static int mirror_check_vma(struct mm_struct *mm, unsigned long addr, bool write, uint8_t *prot)
{
	struct vm_area_struct *vma;
	int ret = 0;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma) {
		*prot = MIRROR_PROT_ERROR;
		ret = -EFAULT;
	} else if (!(vma->vm_flags & VM_READ)) {
		*prot = MIRROR_PROT_NONE;
		ret = -EFAULT;
	} else if (write && !(vma->vm_flags & VM_WRITE)) {
		ret = -EPERM;
	}
	mmap_read_unlock(mm);
	return ret;
}

/*
 * One page, faulted in for the access: get_user_page_ref() gives it with a
 * short reference, which is dropped as soon as the stamp is taken.  The
 * frame may be freed right after; if it is, an invalidation of it began
 * first, and read_retry() will say so before anything is installed.
 */
static int mirror_fault_page(struct mirror *m, unsigned long addr, bool write,
			     struct mirror_pfn *pfn)
{
	struct page *page;
	bool writable;
	int ret;

	ret = mirror_check_vma(m->mm, addr, write, &pfn->prot);
	if (ret)
		return ret;
	ret = get_user_page_ref(m->mm, addr, write, &page, &writable);
	if (ret)
		return ret;
	pfn->stamp = frame_stamp_of(page);
	pfn->writable = writable;
	put_page(page);
	return 0;
}

/*
 * One page as the host maps it now, faulting nothing in: a FOLL_NOFAULT
 * lookup says whether anything is mapped; only then is the page looked up
 * again for its writability, which (the page being present) faults
 * nothing either.  Should it vanish in between, that second lookup would
 * fault it back, but its invalidation has then moved the sequence and the
 * snapshot is retried.
 */
static int mirror_snapshot_page(struct mirror *m, unsigned long addr, struct mirror_pfn *pfn)
{
	struct page *page;
	bool writable;
	long got;
	int ret;

	ret = mirror_check_vma(m->mm, addr, false, &pfn->prot);
	if (ret)
		return 0; /* the prot says why */
	got = get_user_pages(m->mm, addr, 1, FOLL_GET | FOLL_NOFAULT, &page);
	if (got != 1) {
		pfn->prot = MIRROR_PROT_NONE;
		return 0;
	}
	put_page(page);
	ret = get_user_page_ref(m->mm, addr, false, &page, &writable);
	if (ret) {
		pfn->prot = MIRROR_PROT_NONE;
		return 0;
	}
	pfn->stamp = frame_stamp_of(page);
	pfn->prot = writable ? MIRROR_PROT_WRITE : MIRROR_PROT_READ;
	put_page(page);
	return 0;
}

/* Look up [start, end); -EBUSY as soon as an invalidation makes the result useless. */
static int mirror_lookup_range(struct mirror *m, struct mmu_interval_notifier *mni,
			       unsigned long seq, unsigned long start, unsigned long end,
			       bool write, bool fault, struct mirror_pfn *pfns)
{
	for (unsigned long addr = start; addr < end; addr += PAGE_SIZE) {
		struct mirror_pfn *pfn = &pfns[(addr - start) >> PAGE_SHIFT];
		int ret;

		if (mmu_interval_check_retry(mni, seq))
			return -EBUSY;
		ret = fault ? mirror_fault_page(m, addr, write, pfn) :
			      mirror_snapshot_page(m, addr, pfn);
		/*
		 * The VMA check and the lookup take mmap_lock apart, so an
		 * mprotect or munmap may fall between them; it has then moved
		 * the sequence (it announces the range under mmap_lock), and
		 * its error is no more to be trusted than a page would be.
		 */
		if (ret && mmu_interval_check_retry(mni, seq))
			return -EBUSY;
		if (ret)
			return ret;
	}
	return 0;
}

static int mirror_install(struct mirror *m, unsigned long start, unsigned long end,
			  const struct mirror_pfn *pfns)
{
	lockdep_assert_held(&m->mutex);
	for (unsigned long addr = start; addr < end; addr += PAGE_SIZE) {
		const struct mirror_pfn *pfn = &pfns[(addr - start) >> PAGE_SHIFT];
		struct mirror_entry *e = mirror_pt_lookup(m, addr >> PAGE_SHIFT);

		if (!e) {
			e = malloc(sizeof(*e));
			if (!e)
				return -ENOMEM;
			e->index = addr >> PAGE_SHIFT;
			RB_INSERT(mirror_pt, &m->pt, e);
			m->nr_entries++;
		}
		e->stamp = pfn->stamp;
		e->writable = pfn->writable;
	}
	return 0;
}

/*
 * Fault [start, end) into the device page table: the collision-retry loop.
 * Nothing looked up is installed unless no invalidation of the interval
 * began since read_begin; the check and the install share the device lock
 * with the invalidate, which is what makes "no invalidation began" stay
 * true until the entries are in.
 */
static int mirror_range_fault(struct mirror *m, unsigned long start, unsigned long end, bool write,
			      struct mirror_pfn *pfns)
{
	unsigned long seq;
	int ret;

	for (;;) {
		seq = mmu_interval_read_begin(&m->notifier);
		ret = mirror_lookup_range(m, &m->notifier, seq, start, end, write, true, pfns);
		if (ret == -EBUSY)
			continue;
		if (ret)
			return ret;

		/* A whole invalidation may run here: read_retry() below sees it. */
		sched_point("mirror_range_fault:lock");
		mutex_lock(&m->mutex);
		if (mmu_interval_read_retry(&m->notifier, seq)) {
			mutex_unlock(&m->mutex);
			continue;
		}
		ret = mirror_install(m, start, end, pfns);
		mutex_unlock(&m->mutex);
		return ret;
	}
}

/* The device faults from @start to @end in chunks, while the address space lives. */
static int mirror_fault(struct mirror *m, unsigned long start, unsigned long end, bool write)
{
	struct mirror_pfn pfns[MIRROR_FAULT_CHUNK];
	int ret = 0;

	if (!mmget_not_zero(m->mm))
		return -EFAULT;
	while (start < end && !ret) {
		unsigned long next = min(end, start + MIRROR_FAULT_CHUNK * PAGE_SIZE);

		ret = mirror_range_fault(m, start, next, write, pfns);
		start = next;
	}
	mmput(m->mm);

	if (!ret) {
		mutex_lock(&m->mutex);
		m->faults++;
		mutex_unlock(&m->mutex);
	}
	return ret;
}

/* ---- device access ---- */

/*
 * Copy through the table, device lock held, from the first page up:
 * -ENOENT at the first page with no entry (or no writable one, to write),
 * *@done pages copied before it.
 */
static int mirror_do_access(struct mirror *m, unsigned long start, unsigned long npages, void *buf,
			    bool write, unsigned long *done)
{
	lockdep_assert_held(&m->mutex);
	for (; *done < npages; (*done)++) {
		unsigned long addr = start + (*done << PAGE_SHIFT);
		char *dev = (char *)buf + (*done << PAGE_SHIFT);
		struct mirror_entry *e = mirror_pt_lookup(m, addr >> PAGE_SHIFT);
		struct frame_access acc = {
			.addr = addr,
			.size = PAGE_SIZE,
			.write = write,
			.who = "mirror device",
		};
		void *host;

		if (!e || (write && !e->writable))
			return -ENOENT;
		/* A frame freed under the entry would mean a missed invalidation. */
		if (!frame_check_stamp(m->mm->pool, &e->stamp, &acc))
			return -EFAULT;
		host = page_address(pfn_to_page(m->mm->pool, e->stamp.pfn));
		if (write)
			memcpy(host, dev, PAGE_SIZE);
		else
			memcpy(dev, host, PAGE_SIZE);
	}
	return 0;
}

static int mirror_access(struct mirror *m, unsigned long addr, void *buf, unsigned long npages,
			 bool write, struct mirror_cmd *cmd)
{
	unsigned long done = 0, end = addr + (npages << PAGE_SHIFT);
	int ret;

	if (offset_in_page(addr) || !npages || addr >= TASK_SIZE || end > TASK_SIZE || end < addr)
		return -EINVAL;
	for (;;) {
		mutex_lock(&m->mutex);
		ret = mirror_do_access(m, addr, npages, buf, write, &done);
		mutex_unlock(&m->mutex);
		if (ret != -ENOENT)
			break;
		ret = mirror_fault(m, addr + (done << PAGE_SHIFT), end, write);
		if (ret)
			break;
		if (cmd)
			cmd->faults++;
	}
	if (cmd)
		cmd->cpages = done;
	return ret;
}

int mirror_read(struct mirror *m, unsigned long addr, void *buf, unsigned long npages,
		struct mirror_cmd *cmd)
{
	return mirror_access(m, addr, buf, npages, false, cmd);
}

int mirror_write(struct mirror *m, unsigned long addr, const void *buf, unsigned long npages,
		 struct mirror_cmd *cmd)
{
	return mirror_access(m, addr, (void *)buf, npages, true, cmd);
}

/* ---- snapshot ---- */

/* A snapshot's temporary notifier over the range: it only moves the sequence. */
struct mirror_snapshot_interval {
	struct mmu_interval_notifier notifier;
	struct mirror *m;
};

static bool mirror_snapshot_invalidate(struct mmu_interval_notifier *mni,
				       const struct mmu_notifier_range *range,
				       unsigned long cur_seq)
{
	struct mirror *m = container_of(mni, struct mirror_snapshot_interval, notifier)->m;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&m->mutex);
	else if (!mutex_trylock(&m->mutex))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	mutex_unlock(&m->mutex);
	return true;
}

static const struct mmu_interval_notifier_ops mirror_snapshot_ops = {
	.invalidate = mirror_snapshot_invalidate,
};

static int mirror_snapshot_chunk(struct mirror *m, struct mirror_snapshot_interval *interval,
				 unsigned long start, unsigned long end, uint8_t *perms)
{
	struct mirror_pfn pfns[MIRROR_FAULT_CHUNK];
	unsigned long seq;
	int ret;

	for (;;) {
		seq = mmu_interval_read_begin(&interval->notifier);
		ret = mirror_lookup_range(m, &interval->notifier, seq, start, end, false, false,
					  pfns);
		if (ret == -EBUSY)
			continue;
		if (ret)
			return ret;
		mutex_lock(&m->mutex);
		if (mmu_interval_read_retry(&interval->notifier, seq)) {
			mutex_unlock(&m->mutex);
			continue;
		}
		mutex_unlock(&m->mutex);
		break;
	}
	for (unsigned long i = 0; i < (end - start) >> PAGE_SHIFT; i++)
		perms[i] = pfns[i].prot;
	return 0;
}

int mirror_snapshot(struct mirror *m, unsigned long addr, uint8_t *perms, unsigned long npages,
		    struct mirror_cmd *cmd)
{
	struct mirror_snapshot_interval interval = { .m = m };
	unsigned long start = addr, end = addr + (npages << PAGE_SHIFT);
	int ret;

	if (offset_in_page(addr) || !npages || addr >= TASK_SIZE || end > TASK_SIZE || end < addr)
		return -EINVAL;
	if (!mmget_not_zero(m->mm))
		return -EINVAL;
	ret = mmu_interval_notifier_insert(&interval.notifier, m->mm, start, end - start,
					   &mirror_snapshot_ops);
	if (ret)
		goto out;

	for (; start < end && !ret; start += MIRROR_FAULT_CHUNK * PAGE_SIZE) {
		unsigned long next = min(end, start + MIRROR_FAULT_CHUNK * PAGE_SIZE);

		ret = mirror_snapshot_chunk(m, &interval, start, next,
					    perms + ((start - addr) >> PAGE_SHIFT));
	}
	mmu_interval_notifier_remove(&interval.notifier);
	if (!ret && cmd)
		cmd->cpages = npages;
out:
	mmput(m->mm);
	return ret;
}

/* ---- counters ---- */

/* A counter read under the mirror's mutex, which its writers hold. */
static unsigned long mirror_counter(struct mirror *m, const unsigned long *counter)
{
	unsigned long n;

	mutex_lock(&m->mutex);
	n = *counter;
	mutex_unlock(&m->mutex);
	return n;
}

unsigned long mirror_nr_entries(struct mirror *m)
{
	return mirror_counter(m, &m->nr_entries);
}

unsigned long mirror_faults(struct mirror *m)
{
	return mirror_counter(m, &m->faults);
}

unsigned long mirror_invalidations(struct mirror *m)
{
	return mirror_counter(m, &m->invalidations);
}
