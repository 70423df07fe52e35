// SPDX-License-Identifier: GPL-2.0
/*
 * Real gcc output on the soft vCPU: the guest images of guest/ (built with
 * the ABI's flags), loaded by the ELF loader into flat RAM and run to their
 * exit port.  hash's digest is recomputed natively; smp runs on two vCPU
 * threads sharing the RAM (locked xadd, bts and cmpxchg between them).  The
 * images are found beside the test binary (<build>/guest); a build without
 * them skips.
 */
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/xorshift.h"
#include "tests/lib/test_util.h"
#include "vmm/elf.h"
#include "vmm/soft/soft_cpu.h"

#define RAM_BASE 0x100000UL
#define STACK_SIZE (64UL << 10)
#define MAX_VCPUS 2

struct guest {
	uint8_t *ram;
	unsigned long ram_size;
	struct soft_cpu cpu[MAX_VCPUS];
	unsigned int nr_vcpus;
	char console[MAX_VCPUS][256];
	unsigned int console_len[MAX_VCPUS];
};

struct vcpu_ctx {
	struct guest *g;
	unsigned int id;
};

static enum soft_xlate_ret guest_translate(void *opaque, uint64_t gva, unsigned int len,
					   enum soft_access access, uint64_t rip,
					   struct soft_xlate *out)
{
	struct vcpu_ctx *v = opaque;

	if (gva < RAM_BASE || gva + len > RAM_BASE + v->g->ram_size)
		return SOFT_XLATE_OUTSIDE;
	out->gpa = gva;
	out->hva = v->g->ram + (gva - RAM_BASE);
	return SOFT_XLATE_OK;
}

static int guest_pio(void *opaque, uint16_t port, unsigned int size, bool in, uint32_t *val)
{
	struct vcpu_ctx *v = opaque;
	unsigned int *len = &v->g->console_len[v->id];

	if (in)
		return 0;
	if (port == 0xe9 && *len < sizeof(v->g->console[0]) - 1) {
		v->g->console[v->id][(*len)++] = *val;
		return 0;
	}
	return port == 0x501 ? SOFT_PIO_EXIT : 0;
}

static const struct soft_mem_ops guest_ops = { .translate = guest_translate, .pio = guest_pio };

static int ram_write(void *opaque, uint64_t gpa, const void *src, size_t len)
{
	struct guest *g = opaque;

	memcpy(g->ram + (gpa - RAM_BASE), src, len);
	return 0;
}

/* The image beside the test binary, or a skip. */
static void *read_image(const char *name, size_t *size)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	void *buf;
	FILE *f;
	long len;

	TEST_ASSERT(n > 0, "readlink /proc/self/exe");
	exe[n] = 0;
	snprintf(path, sizeof(path), "%s/../guest/%s.elf", dirname(exe), name);
	f = fopen(path, "rb");
	TEST_REQUIRE(f != NULL);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc(len);
	TEST_ASSERT(buf && fread(buf, 1, len, f) == (size_t)len, "reading %s", path);
	fclose(f);
	*size = len;
	return buf;
}

static struct vcpu_ctx ctx[MAX_VCPUS];

/* Load @name into @ram_size bytes of RAM and set up @nr vCPUs by the Guest ABI. */
static struct guest *guest_load(const char *name, unsigned long ram_size, unsigned int nr)
{
	struct guest *g = calloc(1, sizeof(*g));
	struct elf_image img;
	size_t size;
	void *image = read_image(name, &size);
	unsigned int i;

	TEST_ASSERT(g, "calloc");
	g->ram = calloc(1, ram_size);
	g->ram_size = ram_size;
	TEST_ASSERT(g->ram, "calloc RAM");
	TEST_ASSERT(!elf_load(image, size, RAM_BASE, ram_size, ram_write, g, &img), "%s: %s", name,
		    img.error);
	free(image);
	g->nr_vcpus = nr;
	for (i = 0; i < nr; i++) {
		struct soft_cpu *cpu = &g->cpu[i];

		ctx[i] = (struct vcpu_ctx){ .g = g, .id = i };
		TEST_ASSERT_EQ(soft_cpu_init(cpu, &guest_ops, &ctx[i]), 0);
		cpu->rip = img.entry;
		cpu->gpr[SOFT_RDI] = i;
		cpu->gpr[SOFT_RSI] = nr;
		cpu->gpr[SOFT_RDX] = ram_size;
		cpu->gpr[SOFT_RSP] = RAM_BASE + ram_size - i * STACK_SIZE;
	}
	return g;
}

static void guest_free(struct guest *g)
{
	unsigned int i;

	for (i = 0; i < g->nr_vcpus; i++)
		soft_cpu_destroy(&g->cpu[i]);
	free(g->ram);
	free(g);
}

/* Run a vCPU to its exit port (its status) or hlt (-1). */
static void *vcpu_run(void *arg)
{
	struct soft_cpu *cpu = arg;
	enum soft_exit_reason r = soft_cpu_run(cpu, 0);

	TEST_ASSERT(r == SOFT_EXIT_PIO || r == SOFT_EXIT_HLT, "exit %d: %s", r, cpu->exit.message);
	return (void *)(long)(r == SOFT_EXIT_HLT ? -1 : (long)cpu->exit.data);
}

TEST(hello)
{
	struct guest *g = guest_load("hello", 4UL << 20, 1);

	TEST_ASSERT_EQ((long)vcpu_run(&g->cpu[0]), 0L);
	TEST_ASSERT(strstr(g->console[0], "Hello from vCPU 0 of 1, 4 MiB of RAM"), "console: %s",
		    g->console[0]);
	guest_free(g);
}

TEST(hash_digest_matches_native)
{
	struct guest *g = guest_load("hash", 512UL << 10, 1);
	unsigned long words, digest;
	const char *line;

	TEST_ASSERT_EQ((long)vcpu_run(&g->cpu[0]), 0L);
	line = strstr(g->console[0], "hash: ");
	TEST_ASSERT(line && sscanf(line, "hash: %lu words: %lx", &words, &digest) == 2,
		    "console: %s", g->console[0]);
	TEST_ASSERT_EQ(digest, hash_image_digest(words));
	TEST_ASSERT(g->cpu[0].cache.hits > 1000 * g->cpu[0].cache.misses, "hit rate");
	guest_free(g);
}

TEST(smp_two_vcpu_threads)
{
	struct guest *g = guest_load("smp", 1UL << 20, 2);
	pthread_t t[2];
	void *ret[2];
	unsigned int i;

	for (i = 0; i < 2; i++)
		TEST_ASSERT_EQ(pthread_create(&t[i], NULL, vcpu_run, &g->cpu[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], &ret[i]);
	TEST_ASSERT_EQ((long)ret[0], 0L);
	TEST_ASSERT_EQ((long)ret[1], -1L); /* vCPU 1 halts */
	TEST_ASSERT(strstr(g->console[0], "counter 20000, ok"), "console: %s", g->console[0]);
	guest_free(g);
}
