// SPDX-License-Identifier: GPL-2.0
/*
 * nopin soak: many short randomized runs of `nopin run`, each checked.
 *
 * Run i of seed S draws, from its own xorshift state (S and i mixed, so a
 * run does not depend on the ones before it): a guest image, the backend
 * (soft; kvm as well where /dev/kvm opens on hardware virtualization), the
 * MMU mode the image fits (flat only for images without tables of their
 * own; tdp only on soft), 1 or 2 vCPUs, RAM and a frame pool from half to
 * twice its size (a smaller pool is pressure: kswapd and a swap file), now
 * and then RAM on a --mem-file, and a mix of pressure agents with their
 * periods.  Each run is a child `nopin run --stats=json`, and passes only
 * if it exited 0, its image printed the line it prints after checking
 * itself, the sanitizer counted no report, and teardown found no leaked
 * frame (mm/page_alloc.c's report at frame_pool_destroy()) or swap slot
 * (vmm_destroy()'s swapoff() check).  A run that outlives --timeout is
 * killed and fails as hung.
 *
 * A failure prints the seed, the run, why, the exact `nopin run` command
 * that repeats it, and the end of its output.  Exit status: 0 if every
 * run passed, 1 if one failed, 2 for a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/prandom.h"
#include "vmm/commands.h"
#include "vmm/kvm/devkvm_util.h"
#include "vmm/util.h"

/* A guest image, and the line it prints once it checked itself. */
struct soak_image {
	const char *name;
	const char *expect;
	bool own_tables;     /* page tables of its own: tdp or shadow, never flat */
	bool one_vcpu;	     /* its check is written for one vCPU */
	unsigned int min_mb; /* the RAM it needs (paging maps a 2 MiB chunk of it) */
};

/*
 * ptedit is left out: thousands of table edits, over a minute in a debug
 * build under pressure; the matrix runs it.  hash's digest is checked by
 * the matrix too: here its exit status says it finished.
 */
static const struct soak_image soak_images[] = {
	{ .name = "hello", .expect = "Hello from vCPU 0 of" },
	{ .name = "exceptions", .expect = ", ok" },
	{ .name = "memtest", .expect = "memtest: ok" },
	{ .name = "hash", .expect = "hash: " },
	{ .name = "random", .expect = "random: ok" },
	{ .name = "smp", .expect = ", ok" },
	{ .name = "balloon", .expect = "balloon: 4 rounds" },
	{ .name = "paging", .expect = ", ok", .own_tables = true, .min_mb = 6 },
	{ .name = "usermode",
	  .expect = "usermode: free RAM written and read back: ok",
	  .own_tables = true,
	  .one_vcpu = true },
};

static const char *const soak_agents[] = {
	"reclaim", "migrate", "mprotect", "age", "dontneed-free", "fork", "fault-race",
};

static const unsigned int soak_periods_ms[] = { 10, 20, 50, 100 };

#define SOAK_MAX_ARGS 32
#define SOAK_OUTPUT (64 << 10)

struct soak_opts {
	unsigned long runs;
	uint64_t seed;
	unsigned long timeout_s;
	const char *images; /* the directory of the guest images */
	bool kvm;	    /* /dev/kvm opens on hardware virtualization */
	bool verbose;
};

/* One run's draw, as the argv of its `nopin run`. */
struct soak_run {
	const struct soak_image *image;
	const char *argv[SOAK_MAX_ARGS];
	unsigned int argc;
	char mem[16], pool[16], vcpus[4], pressure[256], image_path[PATH_MAX];
	char mem_file[64]; /* empty: anonymous RAM */
};

static unsigned int soak_rand(uint64_t *rng, unsigned int n)
{
	return prandom_u64(rng) % n;
}

/* A state for run @i of @seed: splitmix64 of both, never 0. */
static uint64_t soak_run_state(uint64_t seed, unsigned long i)
{
	uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

static void soak_arg(struct soak_run *r, const char *arg)
{
	if (r->argc < SOAK_MAX_ARGS - 1)
		r->argv[r->argc++] = arg;
	r->argv[r->argc] = NULL;
}

/* A pressure mix: each agent with probability 1/3, at a period of its own. */
static void soak_draw_pressure(struct soak_run *r, uint64_t *rng)
{
	size_t len = 0;

	r->pressure[0] = '\0';
	for (unsigned int a = 0; a < ARRAY_SIZE(soak_agents); a++) {
		if (soak_rand(rng, 3))
			continue;
		len += snprintf(r->pressure + len, sizeof(r->pressure) - len, "%s%s=%ums",
				len ? "," : "", soak_agents[a],
				soak_periods_ms[soak_rand(rng, ARRAY_SIZE(soak_periods_ms))]);
	}
}

/* Mode @mmu (0 flat, 1 tdp, 2 shadow) as @img and the backend allow it. */
static const char *soak_mmu_mode(const struct soak_image *img, bool kvm, unsigned int mmu)
{
	/* tdp is the soft vCPU's; flat cannot run a guest's own tables. */
	if (mmu == 0 && img->own_tables)
		return kvm ? "shadow" : "tdp";
	if (mmu == 1)
		return kvm ? "shadow" : "tdp";
	return mmu == 0 ? "flat" : "shadow";
}

/* A new empty file for --mem-file in $TMPDIR (or /tmp); 0 or -errno. */
static int soak_mem_file(struct soak_run *r)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(r->mem_file, sizeof(r->mem_file), "%.40s/nopin-soak-XXXXXX", tmp);
	fd = mkstemp(r->mem_file);
	if (fd < 0) {
		r->mem_file[0] = '\0';
		return -errno;
	}
	close(fd);
	return 0;
}

/*
 * Draw run @i.  Every choice is drawn whether it is used or not, so one
 * option's range can change without reshuffling the others.
 */
static void soak_draw(struct soak_run *r, const struct soak_opts *o, unsigned long i)
{
	static const unsigned int mem_mb[] = { 3, 4, 6, 8 };
	/* The pool as quarters of RAM: half, three quarters, the same, 1.5x, twice. */
	static const unsigned int pool_quarters[] = { 2, 3, 4, 6, 8 };
	uint64_t rng = soak_run_state(o->seed, i);
	const struct soak_image *img = &soak_images[soak_rand(&rng, ARRAY_SIZE(soak_images))];
	bool kvm = o->kvm && soak_rand(&rng, 2);
	unsigned int mmu = soak_rand(&rng, 3), vcpus = 1 + soak_rand(&rng, 2);
	unsigned int mem = mem_mb[soak_rand(&rng, ARRAY_SIZE(mem_mb))];
	unsigned int quarters = pool_quarters[soak_rand(&rng, ARRAY_SIZE(pool_quarters))];
	bool mem_file = !soak_rand(&rng, 4), quiet = !soak_rand(&rng, 4);
	const char *mode;

	soak_draw_pressure(r, &rng);
	if (quiet)
		r->pressure[0] = '\0';
	if (img->one_vcpu)
		vcpus = 1;
	if (mem < img->min_mb)
		mem = img->min_mb;
	mode = soak_mmu_mode(img, kvm, mmu);

	r->image = img;
	r->argc = 0;
	snprintf(r->mem, sizeof(r->mem), "%uM", mem);
	snprintf(r->pool, sizeof(r->pool), "%uK", mem * quarters * 256);
	snprintf(r->vcpus, sizeof(r->vcpus), "%u", vcpus);
	snprintf(r->image_path, sizeof(r->image_path), "%s/%s.elf", o->images, img->name);
	soak_arg(r, "nopin");
	soak_arg(r, "run");
	soak_arg(r, "--backend");
	soak_arg(r, kvm ? "kvm" : "soft");
	soak_arg(r, "--mmu");
	soak_arg(r, mode);
	soak_arg(r, "--vcpus");
	soak_arg(r, r->vcpus);
	soak_arg(r, "--mem");
	soak_arg(r, r->mem);
	soak_arg(r, "--pool");
	soak_arg(r, r->pool);
	if (r->pressure[0]) {
		soak_arg(r, "--pressure");
		soak_arg(r, r->pressure);
	}
	r->mem_file[0] = '\0';
	if (mem_file && !soak_mem_file(r)) {
		soak_arg(r, "--mem-file");
		soak_arg(r, r->mem_file);
	}
	soak_arg(r, "--stats=json");
	soak_arg(r, r->image_path);
}

/* The command line of @r, for a failure's "reproduce" line. */
static void soak_print_command(FILE *f, const struct soak_run *r)
{
	fprintf(f, "  reproduce:");
	for (unsigned int a = 0; a < r->argc; a++) {
		if (r->mem_file[0] && r->argv[a] == r->mem_file)
			fprintf(f, " $(mktemp)");
		else
			fprintf(f, " %s", r->argv[a]);
	}
	fprintf(f, "\n");
}

/*
 * Run @r as a child of /proc/self/exe with stdout and stderr into @out
 * (up to SOAK_OUTPUT bytes, the rest read and dropped), killing it after
 * @timeout_s.  The wait status, or -errno; *@hung if it was killed.
 */
static int soak_spawn(const struct soak_run *r, unsigned long timeout_s, char *out, bool *hung)
{
	struct timespec start, now;
	size_t len = 0;
	int fds[2], status;
	pid_t pid;

	*hung = false;
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execv("/proc/self/exe", (char *const *)r->argv);
		_exit(127);
	}
	close(fds[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		char drop[4096];
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((unsigned long)(now.tv_sec - start.tv_sec) >= timeout_s) {
			kill(pid, SIGKILL);
			*hung = true;
			break;
		}
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (len < SOAK_OUTPUT - 1)
			n = read(fds[0], out + len, SOAK_OUTPUT - 1 - len);
		else
			n = read(fds[0], drop, sizeof(drop));
		if (n <= 0)
			break;
		if (len < SOAK_OUTPUT - 1)
			len += n;
	}
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}

/* Why run @r failed, or NULL: its wait @status and @out. */
static const char *soak_check(const struct soak_run *r, int status, bool hung, const char *out,
			      char *why, size_t len)
{
	if (hung)
		return "hung: killed after --timeout";
	if (status < 0) {
		snprintf(why, len, "could not start: %s", strerror(-status));
		return why;
	}
	if (WIFSIGNALED(status)) {
		snprintf(why, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
		return why;
	}
	if (WEXITSTATUS(status)) {
		snprintf(why, len, "exit status %d", WEXITSTATUS(status));
		return why;
	}
	if (!strstr(out, r->image->expect)) {
		snprintf(why, len, "%s did not print '%s'", r->image->name, r->image->expect);
		return why;
	}
	if (!strstr(out, "\"sanitizer_reports\": 0"))
		return "the sanitizer reported (or --stats printed no sanitizer_reports)";
	if (strstr(out, "frames leaked"))
		return "frames leaked at VM exit";
	if (strstr(out, "swap slots still in use"))
		return "swap slots leaked at VM exit";
	return NULL;
}

static void soak_print_failure(const struct soak_opts *o, unsigned long i, const struct soak_run *r,
			       const char *why, const char *out)
{
	size_t len = strlen(out);
	const char *tail = len > 2000 ? out + len - 2000 : out;

	fprintf(stderr, "soak: seed %#lx run %lu FAILED: %s\n", (unsigned long)o->seed, i, why);
	soak_print_command(stderr, r);
	fprintf(stderr, "  output%s:\n%s%s", tail != out ? " (its end)" : "", tail,
		len && out[len - 1] != '\n' ? "\n" : "");
}

/* Run and check run @i; true if it passed. */
static bool soak_one(const struct soak_opts *o, unsigned long i, char *out)
{
	struct soak_run r;
	char why[128];
	const char *fail;
	bool hung;
	int status;

	soak_draw(&r, o, i);
	if (o->verbose) {
		fprintf(stderr, "soak: run %lu:", i);
		for (unsigned int a = 1; a < r.argc; a++)
			fprintf(stderr, " %s", r.argv[a]);
		fprintf(stderr, "\n");
	}
	status = soak_spawn(&r, o->timeout_s, out, &hung);
	if (r.mem_file[0])
		unlink(r.mem_file);
	fail = soak_check(&r, status, hung, out, why, sizeof(why));
	if (fail)
		soak_print_failure(o, i, &r, fail, out);
	return !fail;
}

/* The guest images beside the binary: <build>/vmm/nopin finds <build>/guest. */
static void soak_default_images(char *dir, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		snprintf(dir, len, "guest");
		return;
	}
	exe[n] = '\0';
	snprintf(dir, len, "%s", dirname(dirname(exe)));
	strncat(dir, "/guest", len - strlen(dir) - 1);
}

static void soak_usage(FILE *f)
{
	fprintf(f, "usage: nopin soak [--runs N] [--seed S] [--timeout SECONDS] [--images DIR]\n"
		   "                  [--verbose]\n"
		   "\n"
		   "N short randomized `nopin run`s (image, backend, MMU mode, vCPUs, RAM and\n"
		   "pool, --mem-file, pressure agents and periods drawn from the seed), each\n"
		   "checked: exit 0, the image's self-check line, no sanitizer report, no\n"
		   "leaked frame or swap slot at VM exit.  A failure prints the seed and the\n"
		   "command that repeats it.\n"
		   "\n"
		   "  --runs N           runs (default 100)\n"
		   "  --seed S           the seed, decimal or 0x hex (default: from the clock,\n"
		   "                     printed)\n"
		   "  --timeout SECONDS  a run still going after this is killed and fails as\n"
		   "                     hung (default 300)\n"
		   "  --images DIR       the guest images (default: <nopin's dir>/../guest)\n"
		   "  --verbose          print each run's command before it runs\n"
		   "\n"
		   "Exit status: 0 if every run passed; 1 if one failed; 2 for bad options.\n");
}

static int soak_parse(int argc, char **argv, struct soak_opts *o, char *images, size_t len)
{
	static const struct option longopts[] = { { "runs", required_argument, NULL, 'n' },
						  { "seed", required_argument, NULL, 's' },
						  { "timeout", required_argument, NULL, 't' },
						  { "images", required_argument, NULL, 'i' },
						  { "verbose", no_argument, NULL, 'v' },
						  { "help", no_argument, NULL, 'h' },
						  {} };
	char *end;
	int c;

	o->runs = 100;
	o->timeout_s = 300;
	o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	soak_default_images(images, len);
	o->images = images;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_count(optarg, &o->runs))
				return bad_option("soak", "--runs", optarg, "not a positive count");
			break;
		case 's':
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end || !o->seed)
				return bad_option("soak", "--seed", optarg,
						  "not a nonzero number (decimal or 0x hex)");
			break;
		case 't':
			if (parse_count(optarg, &o->timeout_s))
				return bad_option("soak", "--timeout", optarg,
						  "not a positive count of seconds");
			break;
		case 'i':
			o->images = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			soak_usage(stdout);
			return -1;
		default:
			soak_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nopin soak: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (access(o->images, R_OK | X_OK)) {
		fprintf(stderr, "nopin soak: no guest images at %s: %s\n", o->images,
			strerror(errno));
		return 2;
	}
	return 0;
}

int cmd_soak(int argc, char **argv)
{
	char images[PATH_MAX], *out = malloc(SOAK_OUTPUT);
	unsigned long i, failed = 0;
	struct devkvm_err kerr;
	struct soak_opts o = {};
	int ret;

	if (!out) {
		fprintf(stderr, "nopin soak: no memory for a run's output\n");
		return 1;
	}
	ret = soak_parse(argc, argv, &o, images, sizeof(images));
	if (ret) {
		free(out);
		return ret < 0 ? 0 : ret;
	}
	o.kvm = devkvm_usable(&kerr) && devkvm_hardware(&kerr);
	printf("soak: %lu runs, seed %#lx, backends soft%s\n", o.runs, (unsigned long)o.seed,
	       o.kvm ? " and kvm" : " (no usable /dev/kvm on hardware virtualization)");
	fflush(stdout);
	for (i = 0; i < o.runs; i++) {
		failed += !soak_one(&o, i, out);
		/* A long soak says it is alive. */
		if ((i + 1) % 100 == 0 && i + 1 < o.runs) {
			printf("soak: %lu of %lu runs, %lu failed\n", i + 1, o.runs, failed);
			fflush(stdout);
		}
	}
	printf("soak: %lu runs of seed %#lx: %lu passed, %lu failed\n", o.runs,
	       (unsigned long)o.seed, o.runs - failed, failed);
	free(out);
	return failed ? 1 : 0;
}
