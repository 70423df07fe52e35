// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's locks are base/'s, so the lock checker orders them with every
 * other lock: vmm_stop() taken under the pressure agents' free_lock closes
 * a cycle with the order a reported-free page taken under stop_lock makes;
 * and a hypercall's free_lock taken under the host's mmap_lock closes one
 * with the order the dontneed-free agent makes for real, discarding under
 * free_lock.  The VM is built but its vCPUs never run: the threads here
 * play them, one after the other, so every case is deterministic.
 */
#include <sched.h>
#include <string.h>

#include "base/err.h"
#include "base/kthread.h"
#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"

#ifdef CONFIG_LOCKDEP
#define LOCKDEP_ENABLED 1
#else
#define LOCKDEP_ENABLED 0
#endif

static struct vmm *test_vmm(const char *pressure)
{
	struct vmm_config cfg;
	struct vmm *vm;
	char err[512];

	guest_config(&cfg, "hello");
	cfg.backend = VMM_BACKEND_SOFT;
	cfg.pressure = pressure;
	TEST_ASSERT_EQ(vmm_create(&cfg, &vm, err, sizeof(err)), 0);
	return vm;
}

/* Run @fn on its own registered thread to the end. */
static void run_thread(int (*fn)(void *), void *arg, const char *name)
{
	struct kthread *k = kthread_run(fn, arg, "%s", name);

	TEST_ASSERT(!IS_ERR(k), "kthread_run: %ld", PTR_ERR(k));
	TEST_ASSERT_EQ(kthread_join(k), 0);
}

static void assert_title_has(const char *want)
{
	char title[256];

	report_last_title(REPORT_LOCKDEP, title, sizeof(title));
	TEST_ASSERT(strstr(title, want), "report title '%s' does not name '%s'", title, want);
}

/* Reports a free page while holding stop_lock: stop_lock, then free_lock. */
static int free_page_under_stop_lock(void *arg)
{
	struct vmm *vm = arg;

	mutex_lock(&vm->stop_lock);
	pressure_report_free(&vm->pressure, 0, 1);
	mutex_unlock(&vm->stop_lock);
	return 0;
}

/* Stops the VM while holding free_lock: free_lock, then stop_lock. */
static int stop_under_free_lock(void *arg)
{
	struct vmm *vm = arg;

	mutex_lock(&vm->pressure.free_lock);
	vmm_stop(vm, VMM_EXIT_VMM_ERROR, "stopped under free_lock");
	mutex_unlock(&vm->pressure.free_lock);
	return 0;
}

TEST(stop_lock_and_free_lock_inversion_reported)
{
	struct vmm *vm;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	vm = test_vmm(NULL);
	run_thread(free_page_under_stop_lock, vm, "vCPU 0");
	expect_reports(REPORT_LOCKDEP, 0);
	run_thread(stop_under_free_lock, vm, "vCPU 1");
	expect_reports(REPORT_LOCKDEP, 1);
	/* stop_lock, taken in vmm_stop() (vcpu.c) while free_lock is held. */
	assert_title_has("stop_lock (vcpu.c:");
	assert_title_has("while holding &p->free_lock");
	vmm_destroy(vm);
}

static uint64_t guest_word(struct vmm *vm, uint64_t gpa)
{
	uint64_t v;

	TEST_ASSERT_EQ(vmm_read_guest(vm, gpa, &v, sizeof(v)), 0);
	return v;
}

TEST(free_lock_is_ordered_before_the_host_mm_locks)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL, gpa;
	unsigned long page;
	struct vmm *vm;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	vm = test_vmm("dontneed-free=1ms");
	page = vm->pressure.nr_pages / 2;
	gpa = GUEST_RAM_BASE + ((uint64_t)page << PAGE_SHIFT);
	TEST_ASSERT_EQ(vmm_write_guest(vm, gpa, &v, sizeof(v)), 0);
	pressure_report_free(&vm->pressure, page, 1);

	/* The agent discards the page under free_lock: free_lock, then mmap_lock. */
	TEST_ASSERT_EQ(pressure_start(&vm->pressure, vm), 0);
	while (guest_word(vm, gpa))
		sched_yield();
	pressure_stop(&vm->pressure);
	expect_reports(REPORT_LOCKDEP, 0);

	/* A hypercall served under mmap_lock would close the cycle. */
	mmap_read_lock(vm->mm);
	pressure_reuse(&vm->pressure, page, 1);
	mmap_read_unlock(vm->mm);
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has("free_lock (pressure.c:");
	assert_title_has("while holding &mm->mmap_lock");
	vmm_destroy(vm);
}
