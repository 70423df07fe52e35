/* SPDX-License-Identifier: GPL-2.0 */
/* Compiler and memory-model helpers with the kernel's names, over C11 atomics. */
#ifndef NOPIN_BASE_COMPILER_H
#define NOPIN_BASE_COMPILER_H

#include <stdatomic.h>
#include <stddef.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#undef __always_inline /* glibc defines it too */
#define __always_inline inline __attribute__((always_inline))
#define __noreturn __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __maybe_unused __attribute__((unused))
#define __cacheline_aligned __attribute__((aligned(64)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)

#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_DOWN(x, a) ((x) & ~((typeof(x))(a)-1))
#define ALIGN(x, a) ALIGN_DOWN((x) + (a)-1, (a))
#define IS_ALIGNED(x, a) (((x) & ((typeof(x))(a)-1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))

#define barrier() __asm__ __volatile__("" ::: "memory")

/*
 * Shared plain fields are accessed through relaxed atomics, which compile to
 * ordinary loads and stores on x86-64 and tell TSan the race is intended.
 */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#ifdef __SANITIZE_THREAD__
/*
 * TSan does not model stand-alone fences (gcc refuses them under -Werror).
 * A seq_cst read-modify-write of one shared word is a full barrier on x86-64
 * and, for TSan, a synchronisation point every fence of the program passes.
 * Weak, so each translation unit's copy is the same word.
 */
__attribute__((weak)) int nopin_tsan_fence_word;
#define __tsan_fence(order) ((void)__atomic_fetch_add(&nopin_tsan_fence_word, 0, order))
#define smp_mb() __tsan_fence(__ATOMIC_SEQ_CST)
#define smp_rmb() __tsan_fence(__ATOMIC_ACQ_REL)
#define smp_wmb() __tsan_fence(__ATOMIC_ACQ_REL)
#else
#define smp_mb() atomic_thread_fence(memory_order_seq_cst)
#define smp_rmb() atomic_thread_fence(memory_order_acquire)
#define smp_wmb() atomic_thread_fence(memory_order_release)
#endif
#define smp_mb__before_atomic() smp_mb()
#define smp_mb__after_atomic() smp_mb()

#endif
