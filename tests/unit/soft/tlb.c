// SPDX-License-Identifier: GPL-2.0
/*
 * The interpreter's own TLB and its code page (vmm/soft/access.h,
 * soft_xlate(); vmm/soft/run.c, fetch()): what a translator lets it keep
 * is used without asking again, and is exactly as strong as asking.  Each
 * case breaks if the fast path skips one of its rules:
 *
 *  - the guard (the frame's state and generation, the sanitizer's stamp)
 *    is checked on every data access and every fetch, so a frame freed
 *    under a kept translation goes back to the translator, which reports;
 *  - soft_cpu_flush_tlb() (the VMM's flush request, rule 3, flush before
 *    return) drops data and code translations at once, mid-run;
 *  - a write needs a translation made for writing;
 *  - a translation the translator will not let it keep (a tracked page
 *    table write) sends the next fetch to the translator;
 *  - the guest's own CR3 load and INVLPG drop what was kept;
 *  - a store into the page being executed still drops its decoded code;
 *  - a change of privilege drops what was kept, since the U/S check is
 *    the translator's;
 *  - after a flush request, decoded code is kept only on the frame it was
 *    decoded from (soft_cpu_revalidate_code()).
 *
 * The translator maps two guest-virtual pages, code and data, to frames it
 * can swap; an `out 0x80` runs the case's hook on the vCPU's thread,
 * between instructions, as a flush request served inside a secondary
 * fault would.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

#define VA_CODE 0x400000UL
#define VA_DATA 0x401000UL
#define GPA_BASE 0x10000UL
#define NR_FRAMES 4

struct mem {
	uint8_t frame[NR_FRAMES][SOFT_PAGE_SIZE];
	unsigned int guard[NR_FRAMES][2]; /* a frame's state and generation */
	unsigned int map[2];		  /* the frames of VA_CODE and VA_DATA */
	bool tracked;			  /* writes to VA_DATA may not be kept */
	bool supervisor_data;		  /* VA_DATA is a supervisor page: #PF at CPL 3 */
	unsigned long asked[3];		  /* translations, by access */
	unsigned long asked_at_hook[3];
	struct soft_cpu *cpu;
	void (*hook)(struct mem *m);
};

static enum soft_xlate_ret mem_translate(void *opaque, uint64_t gva, unsigned int len,
					 enum soft_access access, uint64_t rip,
					 struct soft_xlate *out)
{
	struct mem *m = opaque;
	uint64_t page = (gva - VA_CODE) >> SOFT_PAGE_SHIFT, off = gva & (SOFT_PAGE_SIZE - 1);
	unsigned int f;

	if (gva < VA_CODE || page > 1)
		return SOFT_XLATE_OUTSIDE;
	f = m->map[page];
	m->asked[access]++;
	if (m->supervisor_data && page == 1 && soft_cpu_cpl(m->cpu)) {
		out->error_code = PFERR_PRESENT_MASK | PFERR_USER_MASK;
		return SOFT_XLATE_PAGE_FAULT;
	}
	out->hva = m->frame[f] + off;
	out->gpa = GPA_BASE + f * SOFT_PAGE_SIZE + off;
	out->cacheable = !(m->tracked && page == 1 && access == SOFT_ACCESS_WRITE);
	out->guard = m->guard[f];
	out->guard_val[0] = m->guard[f][0];
	out->guard_val[1] = m->guard[f][1];
	return SOFT_XLATE_OK;
}

static int mem_pio(void *opaque, uint16_t port, unsigned int size, bool in, uint32_t *val)
{
	struct mem *m = opaque;

	if (!in && port == 0x80 && m->hook) {
		memcpy(m->asked_at_hook, m->asked, sizeof(m->asked));
		m->hook(m);
	}
	return 0;
}

/* The guest's CR3 picks the frame of VA_DATA: 0x1000 frame 3, anything else frame 2. */
static int mem_load_cr3(void *opaque, uint64_t cr3)
{
	struct mem *m = opaque;

	m->map[1] = cr3 == 0x1000 ? 3 : 2;
	return 0;
}

static void mem_invlpg(void *opaque, uint64_t gva)
{
}

static const struct soft_mem_ops mem_ops = {
	.translate = mem_translate,
	.pio = mem_pio,
	.load_cr3 = mem_load_cr3,
	.invlpg = mem_invlpg,
};

#define CODE(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })
/* The little-endian bytes of VA_DATA as a disp32. */
#define D32 0x00, 0x10, 0x40, 0x00

static struct mem *mem_new(struct soft_cpu *cpu, const void *code, size_t len)
{
	struct mem *m = calloc(1, sizeof(*m));

	TEST_ASSERT(m, "calloc");
	memcpy(m->frame[0], code, len);
	m->map[0] = 0;
	m->map[1] = 2;
	for (unsigned int f = 0; f < NR_FRAMES; f++)
		m->guard[f][0] = 1; /* in use */
	*(uint64_t *)m->frame[2] = 0x2222;
	*(uint64_t *)m->frame[3] = 0x3333;
	m->cpu = cpu;
	TEST_ASSERT_EQ(soft_cpu_init(cpu, &mem_ops, m), 0);
	cpu->rip = VA_CODE;
	return m;
}

static void mem_free(struct soft_cpu *cpu, struct mem *m)
{
	soft_cpu_destroy(cpu);
	free(m);
}

/* The frame behind VA_DATA is freed (its generation moves on); nobody flushes. */
static void free_data_frame(struct mem *m)
{
	m->guard[m->map[1]][1]++;
}

TEST(data_translation_is_kept_and_its_frame_checked)
{
	struct soft_cpu cpu;
	/* mov rax, [D]; mov rax, [D]; out 0x80, al; mov rbx, [D]; hlt */
	struct mem *m = mem_new(&cpu, CODE(0x48, 0x8b, 0x04, 0x25, D32, 0x48, 0x8b, 0x04, 0x25, D32,
					   0xe6, 0x80, 0x48, 0x8b, 0x1c, 0x25, D32, 0xf4));

	m->hook = free_data_frame;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	/* The second read used the first one's translation... */
	TEST_ASSERT_EQ(m->asked_at_hook[SOFT_ACCESS_READ], 1UL);
	/* ...and the read after the frame went asked again, where the VMM reports it. */
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_READ], 2UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 0x2222UL);
	mem_free(&cpu, m);
}

/* The flush of a request served mid-run: the data page and the code page both moved. */
static void move_and_flush(struct mem *m)
{
	m->map[0] = 1;
	m->map[1] = 3;
	soft_cpu_flush_tlb(m->cpu);
}

TEST(flush_drops_data_and_code_translations_at_once)
{
	struct soft_cpu cpu;
	/* 0: mov rax, [D]; 8: out 0x80, al; 10: mov rbx, [D]; 18: mov ecx, 1; 23: hlt */
	struct mem *m = mem_new(&cpu, CODE(0x48, 0x8b, 0x04, 0x25, D32, 0xe6, 0x80, 0x48, 0x8b,
					   0x1c, 0x25, D32, 0xb9, 0x01, 0x00, 0x00, 0x00, 0xf4));

	/* Frame 1 is the same code but for the last mov: mov ecx, 2. */
	memcpy(m->frame[1], m->frame[0], SOFT_PAGE_SIZE);
	m->frame[1][19] = 2;
	m->hook = move_and_flush;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 0x2222UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 0x3333UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RCX], 2UL);
	mem_free(&cpu, m);
}

/* Between runs nothing kept survives: the VMM may have changed CR3 by hypercall. */
TEST(a_new_run_asks_again)
{
	struct soft_cpu cpu;
	/* mov rax, [D]; hlt; mov rbx, [D]; hlt */
	struct mem *m = mem_new(
		&cpu, CODE(0x48, 0x8b, 0x04, 0x25, D32, 0xf4, 0x48, 0x8b, 0x1c, 0x25, D32, 0xf4));

	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	m->map[1] = 3;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 0x2222UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 0x3333UL);
	mem_free(&cpu, m);
}

static void free_code_frame(struct mem *m)
{
	m->guard[m->map[0]][1]++;
}

TEST(code_frame_is_checked_on_every_fetch)
{
	struct soft_cpu cpu;
	/* mov eax, 1; out 0x80, al; mov eax, 2; hlt */
	struct mem *m = mem_new(&cpu, CODE(0xb8, 0x01, 0x00, 0x00, 0x00, 0xe6, 0x80, 0xb8, 0x02,
					   0x00, 0x00, 0x00, 0xf4));

	m->hook = free_code_frame;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	/* One fetch asked before the hook; the one after the frame went asked again. */
	TEST_ASSERT_EQ(m->asked_at_hook[SOFT_ACCESS_FETCH], 1UL);
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_FETCH], 2UL);
	mem_free(&cpu, m);
}

TEST(a_write_needs_a_translation_made_for_writing)
{
	struct soft_cpu cpu;
	/* mov rax, [D]; mov [D], rcx; mov [D], rcx; hlt */
	struct mem *m = mem_new(&cpu, CODE(0x48, 0x8b, 0x04, 0x25, D32, 0x48, 0x89, 0x0c, 0x25, D32,
					   0x48, 0x89, 0x0c, 0x25, D32, 0xf4));

	cpu.gpr[SOFT_RCX] = 0x99;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_READ], 1UL);
	/* The read's translation did not serve the write; the first write's served the second. */
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_WRITE], 1UL);
	TEST_ASSERT_EQ(*(uint64_t *)m->frame[2], 0x99UL);
	mem_free(&cpu, m);
}

TEST(a_write_not_kept_sends_the_next_fetch_to_the_translator)
{
	struct soft_cpu cpu;
	/* mov [D], rcx; mov [D], rcx; nop; hlt */
	struct mem *m = mem_new(
		&cpu, CODE(0x48, 0x89, 0x0c, 0x25, D32, 0x48, 0x89, 0x0c, 0x25, D32, 0x90, 0xf4));

	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_WRITE], 1UL);
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_FETCH], 1UL);
	mem_free(&cpu, m);

	m = mem_new(&cpu,
		    CODE(0x48, 0x89, 0x0c, 0x25, D32, 0x48, 0x89, 0x0c, 0x25, D32, 0x90, 0xf4));
	m->tracked = true;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_WRITE], 2UL);
	/* The first fetch, and the one after each write. */
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_FETCH], 3UL);
	mem_free(&cpu, m);
}

/* The guest edits its page table (here: the translator's map) without telling anyone. */
static void remap_data_quietly(struct mem *m)
{
	m->map[1] = 2;
}

TEST(cr3_load_and_invlpg_drop_kept_translations)
{
	struct soft_cpu cpu;
	/*
	 * mov rax, [D]; mov ecx, 0x1000; mov cr3, rcx; mov rbx, [D];
	 * out 0x80, al; invlpg [D]; mov rdx, [D]; hlt
	 */
	struct mem *m =
		mem_new(&cpu, CODE(0x48, 0x8b, 0x04, 0x25, D32, 0xb9, 0x00, 0x10, 0x00, 0x00, 0x0f,
				   0x22, 0xd9, 0x48, 0x8b, 0x1c, 0x25, D32, 0xe6, 0x80, 0x0f, 0x01,
				   0x3c, 0x25, D32, 0x48, 0x8b, 0x14, 0x25, D32, 0xf4));

	m->hook = remap_data_quietly;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 0x2222UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 0x3333UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDX], 0x2222UL);
	mem_free(&cpu, m);
}

TEST(store_into_the_executing_page_drops_its_code)
{
	struct soft_cpu cpu;
	/*
	 * 0: mov eax, 0x11		b8 11 00 00 00
	 * 5: test ecx, ecx		85 c9
	 * 7: jnz 20			75 0b
	 * 9: mov byte [rip - 15], 0x42	c6 05 f1 ff ff ff 42	(the imm8 at 1)
	 * 16: inc ecx			ff c1
	 * 18: jmp 0			eb ec
	 * 20: hlt			f4
	 */
	struct mem *m =
		mem_new(&cpu, CODE(0xb8, 0x11, 0x00, 0x00, 0x00, 0x85, 0xc9, 0x75, 0x0b, 0xc6, 0x05,
				   0xf1, 0xff, 0xff, 0xff, 0x42, 0xff, 0xc1, 0xeb, 0xec, 0xf4));

	/* The code page is writable here: VA_CODE's translation serves the store. */
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(m->frame[0][1], 0x42);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 0x42UL);
	/* The code page's translation was kept throughout: one fetch asked. */
	TEST_ASSERT_EQ(m->asked[SOFT_ACCESS_FETCH], 1UL);
	mem_free(&cpu, m);
}

static unsigned int hook_calls;

/* On the third pass: the host rewrites the code page's mov imm8 and invalidates it. */
static void rewrite_code_third_time(struct mem *m)
{
	if (++hook_calls != 3)
		return;
	m->frame[0][9] = 0x22;
	soft_cpu_invalidate_page(m->cpu, GPA_BASE);
}

/*
 * Instructions that fell through to each other are linked (run.c,
 * fetch()); a page dropped between two of them ends the chain, so the
 * next one is decoded again from the page, not taken from the dropped one.
 */
TEST(invalidation_mid_run_ends_the_chain)
{
	struct soft_cpu cpu;
	/*
	 * 0: mov ecx, 3; 5: out 0x80, al; 7: nop; 8: mov al, 0x11;
	 * 10: add ebx, eax; 12: dec ecx; 14: jnz 5; 16: hlt
	 */
	struct mem *m = mem_new(&cpu, CODE(0xb9, 0x03, 0x00, 0x00, 0x00, 0xe6, 0x80, 0x90, 0xb0,
					   0x11, 0x01, 0xc3, 0xff, 0xc9, 0x75, 0xf5, 0xf4));

	hook_calls = 0;
	m->hook = rewrite_code_third_time;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 0x11UL + 0x11 + 0x22);
	TEST_ASSERT_EQ(cpu.cache.invalidations, 1UL);
	mem_free(&cpu, m);
}

/* On the second pass: the host rewrites the jump target's mov imm8 and invalidates it. */
static void rewrite_jump_target_second_time(struct mem *m)
{
	if (++hook_calls != 2)
		return;
	m->frame[0][6] = 0x22;
	soft_cpu_invalidate_page(m->cpu, GPA_BASE);
}

/*
 * A jcc that jumped is linked to its target in the same page (run.c,
 * fetch()), and the link goes with the page like a fall-through's: the
 * target rewritten and dropped between the jcc and its next jump is
 * decoded again, not taken from the dropped page.
 */
TEST(invalidation_mid_run_ends_a_taken_link)
{
	struct soft_cpu cpu;
	/*
	 * 0: mov ecx, 3; 5: mov al, 0x11; 7: add ebx, eax; 9: dec ecx;
	 * 11: out 0x80, al; 13: jnz 5; 15: hlt
	 */
	struct mem *m = mem_new(&cpu, CODE(0xb9, 0x03, 0x00, 0x00, 0x00, 0xb0, 0x11, 0x01, 0xc3,
					   0xff, 0xc9, 0xe6, 0x80, 0x75, 0xf6, 0xf4));

	hook_calls = 0;
	m->hook = rewrite_jump_target_second_time;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 0x11UL + 0x11 + 0x22);
	TEST_ASSERT_EQ(cpu.cache.invalidations, 1UL);
	mem_free(&cpu, m);
}

/*
 * Only a jump with a fixed target is linked to where it went: jmp rbx,
 * to A and then to B in the same page, goes to B the second time.
 */
TEST(an_indirect_jump_is_no_link)
{
	struct soft_cpu cpu;
	/*
	 * 0: mov ecx, 2; 5: lea rbx, [A]; 12: jmp rbx; 14: hlt;
	 * 15 (A): add edx, 1; 18: lea rbx, [B]; 25: dec ecx; 27: jnz 12;
	 * 29: hlt; 30 (B): add edx, 0x10; 33: jmp 25
	 */
	struct mem *m = mem_new(&cpu, CODE(0xb9, 0x02, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x1d, 0x03,
					   0x00, 0x00, 0x00, 0xff, 0xe3, 0xf4, 0x83, 0xc2, 0x01,
					   0x48, 0x8d, 0x1d, 0x05, 0x00, 0x00, 0x00, 0xff, 0xc9,
					   0x75, 0xef, 0xf4, 0x83, 0xc2, 0x10, 0xeb, 0xf6));

	/* A wrong link may loop: a few instructions are enough. */
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 100), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDX], 0x11UL);
	mem_free(&cpu, m);
}

/* The code page moves to frame 1 and back, each time with a flush. */
static void move_code_and_back(struct mem *m)
{
	hook_calls++;
	if (hook_calls > 2)
		return;
	m->map[0] = hook_calls == 1 ? 1 : 0;
	soft_cpu_flush_tlb(m->cpu);
}

/*
 * An instruction whose successor was fetched through a new translation is
 * not linked to it: the same bytes of the page may be another frame's the
 * next time.
 */
TEST(a_new_code_translation_is_no_link)
{
	struct soft_cpu cpu;
	/* Frame 0: 0: out 0x80, al; 2: add ebx, 1; 5: hlt; 6: nop x 4; 10: jmp 0 */
	struct mem *m = mem_new(
		&cpu, CODE(0xe6, 0x80, 0x83, 0xc3, 0x01, 0xf4, 0x90, 0x90, 0x90, 0x90, 0xeb, 0xf4));
	/* Frame 1: 2: add ebx, 0x10; 5: out 0x80, al; 7: nop x 3 */
	static const uint8_t other[] = {
		0x90, 0x90, 0x83, 0xc3, 0x10, 0xe6, 0x80, 0x90, 0x90, 0x90
	};

	memcpy(m->frame[1], other, sizeof(other));
	hook_calls = 0;
	m->hook = move_code_and_back;
	/* A wrong link may loop: a few instructions are enough. */
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 100), SOFT_EXIT_HLT);
	/* Frame 1's add, then frame 0's: never frame 1's again through a link. */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 0x11UL);
	mem_free(&cpu, m);
}

/*
 * A supervisor page read at CPL 0 is kept; after sysret the same read at
 * CPL 3 must reach the translator, which refuses it: #PF, U and P set.
 */
TEST(a_change_of_privilege_drops_kept_translations)
{
	struct soft_cpu cpu;
	/* 0: mov rax, [D]; 8: sysretq; 11 (CPL 3): mov rbx, [D]; 19: hlt */
	struct mem *m = mem_new(&cpu, CODE(0x48, 0x8b, 0x04, 0x25, D32, 0x48, 0x0f, 0x07, 0x48,
					   0x8b, 0x1c, 0x25, D32, 0xf4));

	m->supervisor_data = true;
	cpu.sys.efer |= SOFT_EFER_SCE;
	cpu.sys.star = SOFT_STAR_ABI;
	cpu.gpr[SOFT_RCX] = VA_CODE + 11;
	cpu.gpr[SOFT_R11] = 0x2;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 0x2222UL);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_EXCEPTION);
	TEST_ASSERT_EQ(cpu.exit.vector, SOFT_VEC_PF);
	TEST_ASSERT_EQ(cpu.exit.addr, VA_DATA);
	TEST_ASSERT_EQ(cpu.exit.error_code, PFERR_PRESENT_MASK | PFERR_USER_MASK);
	TEST_ASSERT_EQ(cpu.rip, VA_CODE + 11);
	mem_free(&cpu, m);
}

/* What the VMM does when its vCPU serves a flush request (soft_kvm_flush_tlb()). */
static void flush_request(struct mem *m)
{
	soft_cpu_flush_tlb(m->cpu);
	soft_cpu_revalidate_code(m->cpu);
}

/* mov eax, 1; out 0x80, al; mov ebx, 2; hlt */
#define FLUSH_CODE                                                                                 \
	CODE(0xb8, 0x01, 0x00, 0x00, 0x00, 0xe6, 0x80, 0xbb, 0x02, 0x00, 0x00, 0x00, 0xf4)
#define FLUSH_CODE_IMM 8 /* mov ebx's immediate */

/* A flush that left the code's frame in place: nothing is decoded again. */
TEST(flush_keeps_decoded_code_on_its_frame)
{
	struct soft_cpu cpu;
	struct mem *m = mem_new(&cpu, FLUSH_CODE);
	uint64_t misses;

	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	misses = cpu.cache.misses;
	m->hook = flush_request;
	cpu.rip = VA_CODE;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.cache.misses, misses);
	TEST_ASSERT_EQ(cpu.cache.revalidated, 1UL);
	TEST_ASSERT_EQ(cpu.cache.invalidations, 0UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 2UL);
	mem_free(&cpu, m);
}

/*
 * The code page's frame was freed and reused with other bytes (its
 * generation moved), which a host only does after zapping and flushing:
 * after the flush the page is decoded again from the bytes there now.
 */
TEST(flush_drops_decoded_code_whose_frame_changed)
{
	struct soft_cpu cpu;
	struct mem *m = mem_new(&cpu, FLUSH_CODE);

	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	m->frame[0][FLUSH_CODE_IMM] = 3;
	free_code_frame(m);
	m->hook = flush_request;
	cpu.rip = VA_CODE;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX], 3UL);
	TEST_ASSERT_EQ(cpu.cache.invalidations, 1UL);
	mem_free(&cpu, m);
}
