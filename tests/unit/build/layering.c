// SPDX-License-Identifier: GPL-2.0
/*
 * The layering of the source tree, checked: every #include "..." of the
 * product folders must point down or sideways in
 *
 *	vmm -> mmu -> notifier -> mm -> base
 *
 * (a folder may include its own headers and those of the folders to its
 * right), and guest/ is freestanding: a guest image may include guest/
 * headers and base/ headers that themselves include only the C library's
 * freestanding headers (base/prandom.h), nothing else of the tree or of
 * libc.  tests/ and bench/ may include anything.
 *
 * The kernel's own exceptions are written down in allowed[] below; any
 * other upward include is reported with its file:line and the rule, and
 * fails the case.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "tests/lib/test_util.h"

/* The layers, lowest first: a folder may include its own and those before it. */
static const char *const layers[] = { "base", "mm", "notifier", "mmu", "vmm" };

/*
 * Upward includes the design has, as the kernel has them.
 *
 * mm/ calls the notifier hooks (rule 1, invalidate before free) through its
 * own interface, mm/mmu_notifier.h, as the kernel's mm/ calls them through
 * include/linux/mmu_notifier.h; the notifier implements them.  That header
 * needs the notifier's SRCU for the rcu_head a subscription is freed with.
 * The other direction, the notifier calling mm_take_all_locks() (rule 4,
 * register under all locks) through mm/mm.h, points down and needs no entry.
 *
 * vmm/ includes guest/abi.h, the ports and hypercalls both sides speak.
 */
static const struct {
	const char *from; /* a file, or a folder ending in '/' */
	const char *to;
} allowed[] = {
	{ "mm/mmu_notifier.h", "notifier/srcu.h" },
	{ "vmm/", "guest/abi.h" },
};

/* What a freestanding C implementation has (C11 4p6): all a guest image may use of libc. */
static const char *const freestanding[] = {
	"float.h",   "iso646.h", "limits.h", "stdalign.h",    "stdarg.h",
	"stdbool.h", "stddef.h", "stdint.h", "stdnoreturn.h",
};

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

/* The layer of folder @dir ("mm"), or -1 if it is not in the chain. */
static int layer_of(const char *dir, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(layers); i++)
		if (strlen(layers[i]) == len && !strncmp(dir, layers[i], len))
			return i;
	return -1;
}

/* @path's top folder: its length up to the first '/', 0 if none. */
static size_t top_len(const char *path)
{
	const char *slash = strchr(path, '/');

	return slash ? (size_t)(slash - path) : 0;
}

static bool is_allowed(const char *file, const char *target)
{
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
		const char *from = allowed[i].from;
		size_t n = strlen(from);
		bool match = from[n - 1] == '/' ? !strncmp(file, from, n) : !strcmp(file, from);

		if (match && !strcmp(target, allowed[i].to))
			return true;
	}
	return false;
}

/* "@dir/@name" into @buf, which must hold it. */
static void join_path(char *buf, size_t size, const char *dir, const char *name)
{
	int len = snprintf(buf, size, "%s/%s", dir, name);

	TEST_ASSERT(len >= 0 && (size_t)len < size, "path too long: %s/%s", dir, name);
}

/* Does @header (relative to the tree) include only freestanding C headers? */
static bool header_is_freestanding(const char *root, const char *header)
{
	char path[4096], line[1024], name[256];
	bool ok = true;
	FILE *f;

	join_path(path, sizeof(path), root, header);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (ok && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " # include \"%255[^\"]\"", name) == 1)
			ok = false;
		else if (sscanf(line, " # include <%255[^>]>", name) == 1)
			ok = in_list(name, freestanding, ARRAY_SIZE(freestanding));
	}
	fclose(f);
	return ok;
}

/*
 * Check one include of @file (a path relative to the tree): NULL if it keeps
 * the layering, else the rule it breaks (valid until the next call).
 * @quoted: "..." rather than <...>.
 */
static const char *check_include(const char *root, const char *file, const char *target,
				 bool quoted)
{
	size_t from_len = top_len(file), to_len = top_len(target);
	static char why[256];
	int from, to;

	if (!strncmp(file, "guest/", 6)) {
		if (!quoted)
			return in_list(target, freestanding, ARRAY_SIZE(freestanding)) ?
				       NULL :
				       "guest/ is freestanding: of libc only the freestanding "
				       "C headers";
		if (!to_len || !strncmp(target, "guest/", 6))
			return NULL;
		if (!strncmp(target, "base/", 5) && header_is_freestanding(root, target))
			return NULL;
		return "guest/ is freestanding: it includes guest/ and freestanding base/ "
		       "headers only";
	}
	if (!quoted || !to_len)
		return NULL;
	from = layer_of(file, from_len);
	if (from < 0)
		return NULL; /* tests/, bench/: anything */
	if (is_allowed(file, target))
		return NULL;
	to = layer_of(target, to_len);
	if (to >= 0 && to <= from)
		return NULL;
	snprintf(why, sizeof(why),
		 "%.*s/ includes %.*s/, %s (layering: vmm -> mmu -> notifier -> mm -> base)",
		 (int)from_len, file, (int)to_len, target,
		 to >= 0 ? "a layer above it" : "which is no layer below it");
	return why;
}

struct scan {
	const char *root;
	int files, includes, violations;
};

static void scan_file(struct scan *s, const char *rel)
{
	char path[4096], line[1024], target[256];
	unsigned int lineno = 0;
	FILE *f;

	join_path(path, sizeof(path), s->root, rel);
	f = fopen(path, "r");
	TEST_ASSERT(f, "open %s", path);
	s->files++;
	while (fgets(line, sizeof(line), f)) {
		const char *why = NULL;
		bool quoted;

		lineno++;
		if (sscanf(line, " # include \"%255[^\"]\"", target) == 1)
			quoted = true;
		else if (sscanf(line, " # include <%255[^>]>", target) == 1)
			quoted = false;
		else
			continue;
		s->includes++;
		why = check_include(s->root, rel, target, quoted);
		if (why) {
			fprintf(stderr, "%s:%u: #include %c%s%c: %s\n", rel, lineno,
				quoted ? '"' : '<', target, quoted ? '"' : '>', why);
			s->violations++;
		}
	}
	fclose(f);
}

static bool is_source(const char *name)
{
	size_t n = strlen(name);

	return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

/* Every .c and .h below @rel (a folder of the tree), in a stable order. */
static void scan_dir(struct scan *s, const char *rel)
{
	char path[4096], child[4096];
	struct dirent **ents;
	int n;

	join_path(path, sizeof(path), s->root, rel);
	n = scandir(path, &ents, NULL, alphasort);
	TEST_ASSERT(n >= 0, "scandir %s", path);
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (name[0] != '.') {
			join_path(child, sizeof(child), rel, name);
			if (ents[i]->d_type == DT_DIR)
				scan_dir(s, child);
			else if (is_source(name))
				scan_file(s, child);
		}
		free(ents[i]);
	}
	free(ents);
}

TEST(product_folders_keep_the_layering)
{
	static const char *const product[] = { "base", "mm", "notifier", "mmu", "vmm", "guest" };
	struct scan s = { .root = NOPIN_SOURCE_DIR };

	for (size_t i = 0; i < ARRAY_SIZE(product); i++)
		scan_dir(&s, product[i]);
	printf("%d files, %d includes, %d against the layering\n", s.files, s.includes,
	       s.violations);
	TEST_ASSERT(s.files > 50 && s.includes > 300, "scanned too little of %s", s.root);
	TEST_ASSERT(s.violations == 0, "%d includes against the layering (listed above)",
		    s.violations);
}

/* The checker itself: what it must refuse, and the exceptions it must let through. */
TEST(upward_includes_are_refused)
{
	const char *root = NOPIN_SOURCE_DIR;

	TEST_ASSERT(check_include(root, "mm/memory.c", "vmm/vm.h", true), "mm -> vmm");
	TEST_ASSERT(check_include(root, "mm/rmap.c", "notifier/srcu.h", true), "mm -> notifier");
	TEST_ASSERT(check_include(root, "base/list.h", "mm/mm.h", true), "base -> mm");
	TEST_ASSERT(check_include(root, "notifier/srcu.c", "mmu/spte.h", true), "notifier -> mmu");
	TEST_ASSERT(check_include(root, "mmu/fault.c", "vmm/vm.h", true), "mmu -> vmm");
	TEST_ASSERT(check_include(root, "mm/mm.h", "tests/lib/test_util.h", true), "mm -> tests");
	TEST_ASSERT(check_include(root, "mmu/fault.c", "guest/abi.h", true), "mmu -> guest");
	TEST_ASSERT(check_include(root, "guest/images/hash.c", "base/list.h", true),
		    "guest -> a base/ header that is not freestanding");
	TEST_ASSERT(check_include(root, "guest/images/hash.c", "mm/mm.h", true), "guest -> mm");
	TEST_ASSERT(check_include(root, "guest/runtime/guest.h", "stdio.h", false),
		    "guest -> hosted libc");

	TEST_ASSERT(!check_include(root, "vmm/vm.h", "mmu/kvm_host.h", true), "vmm -> mmu");
	TEST_ASSERT(!check_include(root, "notifier/mmu_notifier.c", "mm/mm.h", true),
		    "notifier -> mm (mm_take_all_locks)");
	TEST_ASSERT(!check_include(root, "mm/mmu_notifier.h", "notifier/srcu.h", true),
		    "the hooks' interface");
	TEST_ASSERT(!check_include(root, "vmm/kvm/kvm_backend.c", "guest/abi.h", true),
		    "vmm -> guest/abi.h");
	TEST_ASSERT(!check_include(root, "guest/images/random.c", "base/prandom.h", true),
		    "guest -> base/prandom.h");
	TEST_ASSERT(!check_include(root, "guest/images/hash.c", "xorshift.h", true),
		    "guest -> its own");
	TEST_ASSERT(!check_include(root, "tests/unit/mm/fault.c", "vmm/vm.h", true),
		    "tests -> anything");
	TEST_ASSERT(!check_include(root, "mm/memory.c", "stdio.h", false), "mm -> libc");
}
