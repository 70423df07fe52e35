// SPDX-License-Identifier: GPL-2.0
/*
 * nopin museum: every legacy switch (base/legacy.h) brought back in turn,
 * each on what exposes it, and the same thing run again without it.
 *
 * An exhibit is either a guest run (an image of <build>/guest, the memory
 * and MMU mode it needs, the host pressure that opens the switch's window)
 * or, for the rules no guest path can reach (the VMM never registers a
 * notifier mid-run, munmaps guest RAM, swaps a page in from a fork child or
 * mlocks), a host scenario held open with schedule points, as the scenario
 * tests do (vmm/museum_host.c).  The switch is caught by the frame
 * sanitizer, the lock checker, or the guest's own check, as the exhibit
 * says; a race left to the pressure agents is run up to MUSEUM_TRIES
 * times.  The run without the switch must be clean: the guest's verdict
 * on itself, and no report of any kind.
 *
 * One line per switch: rule number and name, switch, the kernel history
 * it stands for, what caught it, and whether the run without it was clean.
 * Exit status 0 only when every exhibit shown was caught and every clean
 * run was clean; an exhibit this backend or build cannot show says why
 * and does not count.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/legacy.h"
#include "base/report.h"
#include "vmm/commands.h"
#include "vmm/museum.h"
#include "vmm/util.h"

#define MB (1UL << 20)
#define MUSEUM_TRIES 6

/* What shows that a switch broke its rule. */
enum museum_catch {
	CATCH_SANITIZER,    /* a REPORT_SANITIZER report */
	CATCH_LOCK_CHECKER, /* might_sleep() or lockdep */
	CATCH_GUEST_CHECK,  /* the guest's own check fails: "FAIL" and status 1 */
};

struct exhibit {
	enum legacy_switch sw;
	enum museum_catch catch;
	/* A guest run: */
	const char *image;
	int mmu; /* enum kvm_mmu_mode, or VMM_MMU_AUTO */
	unsigned long mem, pool;
	const char *pressure;
	const char *ok; /* what the guest prints when its own check passed */
	/* Why the kvm backend cannot show it; NULL if it can. */
	const char *not_on_kvm;
	/* Or a host scenario (vmm/museum_host.c): */
	int (*host)(bool legacy, struct museum_result *res);
};

/* Hardware makes a kvm guest's accesses; the sanitizer sees each one only on the soft vCPU. */
static const char guest_access_on_kvm[] =
	"the guest's accesses are the hardware's, which the sanitizer does not check one by one";

/* In rule order; the shadow MMU's coherence switch (rule 0) last. */
static const struct exhibit exhibits[] = {
	{ .sw = LEGACY_ZAP_WITHOUT_NOTIFIER,
	  .catch = CATCH_SANITIZER,
	  .image = "balloon",
	  .mmu = VMM_MMU_AUTO,
	  .mem = 8 * MB,
	  .pool = 16 * MB,
	  .pressure = "dontneed-free=1ms",
	  .ok = "balloon: 4 rounds",
	  .not_on_kvm = guest_access_on_kvm },
	{ .sw = LEGACY_SHADOW_ZAP_ONE_ALIAS,
	  .catch = CATCH_SANITIZER,
	  .image = "abi_only",
	  .mmu = KVM_MMU_SHADOW,
	  .mem = 8 * MB,
	  .pool = 4 * MB,
	  .pressure = "all",
	  .ok = "abi: ok",
	  .not_on_kvm = guest_access_on_kvm },
	{ .sw = LEGACY_NO_INVALIDATE_RETRY,
	  .catch = CATCH_SANITIZER,
	  .image = "random",
	  .mmu = VMM_MMU_AUTO,
	  .mem = 8 * MB,
	  .pool = 4 * MB,
	  .pressure = "all,fault-race",
	  .ok = "random: ok",
	  .not_on_kvm = guest_access_on_kvm },
	{ .sw = LEGACY_NO_REMOTE_FLUSH,
	  .catch = CATCH_SANITIZER,
	  .image = "random",
	  .mmu = VMM_MMU_AUTO,
	  .mem = 8 * MB,
	  .pool = 4 * MB,
	  .pressure = "all",
	  .ok = "random: ok",
	  .not_on_kvm = guest_access_on_kvm },
	{ .sw = LEGACY_REGISTER_WITHOUT_ALL_LOCKS,
	  .catch = CATCH_SANITIZER,
	  .host = museum_register_without_all_locks },
	{ .sw = LEGACY_FREE_PGTABLES_BEFORE_UNLINK,
	  .catch = CATCH_SANITIZER,
	  .host = museum_free_pgtables_before_unlink },
	/* Every munmap and exit: the fork agent's children, and the VM's own at its end. */
	{ .sw = LEGACY_START_IN_TLB_GATHER,
	  .catch = CATCH_LOCK_CHECKER,
	  .image = "hello",
	  .mmu = VMM_MMU_AUTO,
	  .mem = 8 * MB,
	  .pool = 16 * MB,
	  .pressure = "fork=5ms",
	  .ok = "Hello from vCPU 0" },
	{ .sw = LEGACY_NEWEST_ANON_VMA, .catch = CATCH_SANITIZER, .host = museum_newest_anon_vma },
	{ .sw = LEGACY_MLOCK_TRYLOCK, .catch = CATCH_SANITIZER, .host = museum_mlock_trylock },
	{ .sw = LEGACY_WRITABLE_TRACKED_REFAULT,
	  .catch = CATCH_GUEST_CHECK,
	  .image = "abi_only",
	  .mmu = KVM_MMU_SHADOW,
	  .mem = 8 * MB,
	  .pool = 4 * MB,
	  .pressure = "all",
	  .ok = "abi: ok",
	  .not_on_kvm = "the abi_only guest under pressure takes minutes there" },
};

struct museum {
	enum vmm_backend_kind backend;
	char guest_dir[PATH_MAX + 16]; /* /proc/self/exe's directory, then "/../guest" */
	bool verbose;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: nopin museum [--backend soft|kvm] [--rule N] [--guest-dir DIR] "
		   "[--verbose]\n"
		   "\n"
		   "Bring back each historical bug that broke a protocol rule (the legacy\n"
		   "switches of 'nopin run --legacy'), on what exposes it: a guest image under\n"
		   "host pressure, or a host scenario for the rules no guest path reaches.  One\n"
		   "line per switch: the rule, the switch, the kernel history, what caught it,\n"
		   "and whether the same run without the switch was clean.\n"
		   "\n"
		   "  --backend soft|kvm   the vCPU backend (default soft); kvm shows only the\n"
		   "                       switches a hardware vCPU can show, and says why not\n"
		   "                       the others\n"
		   "  --rule N             only the switches of rule N (1-8; 0: the shadow MMU's\n"
		   "                       coherence)\n"
		   "  --guest-dir DIR      where the guest images are (default: <build>/guest,\n"
		   "                       beside this binary's directory)\n"
		   "  --verbose            let the reports through to stderr\n"
		   "\n"
		   "Exit status: 0 when every switch shown was caught and every run without\n"
		   "it was clean; 1 otherwise; 2 for a bad option or a missing guest image.\n");
}

/* <build>/guest, beside <build>/vmm/nopin; 0 or -ENOENT. */
static int default_guest_dir(char *dir, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(dir, len, "%s/../guest", self);
	return 0;
}

/*
 * Send fd 2 somewhere else for the length of a run (the reports are long,
 * and the line says what they were), or leave it with --verbose.  Returns
 * the saved fd 2, or -1 when nothing was redirected.
 */
static int quiet_stderr(const struct museum *mu)
{
	int null, saved;

	if (mu->verbose)
		return -1;
	fflush(stderr);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	saved = dup(2);
	if (null < 0 || saved < 0) {
		if (null >= 0)
			close(null);
		if (saved >= 0)
			close(saved);
		return -1;
	}
	dup2(null, 2);
	close(null);
	return saved;
}

static void restore_stderr(int saved)
{
	if (saved < 0)
		return;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

/* What a run's reports were: counted and forgotten, the titles kept. */
static void take_reports(struct museum_result *res)
{
	for (int cls = 0; cls < NR_REPORT_CLASSES; cls++) {
		res->reports[cls] = report_consume(cls);
		if (res->reports[cls])
			report_last_title(cls, res->title[cls], sizeof(res->title[cls]));
	}
}

/* One guest run of @ex, with its switch if @legacy. */
static int guest_run(const struct museum *mu, const struct exhibit *ex, bool legacy,
		     struct museum_result *res)
{
	char image[PATH_MAX + 96], err[512];
	struct vmm_config cfg;
	struct vmm *vm;
	FILE *console;
	int saved, ret;

	memset(res, 0, sizeof(*res));
	snprintf(image, sizeof(image), "%s/%s.elf", mu->guest_dir, ex->image);
	vmm_config_init(&cfg);
	cfg.image = image;
	cfg.backend = mu->backend;
	cfg.mmu = ex->mmu;
	cfg.mem_bytes = ex->mem;
	cfg.pool_bytes = ex->pool;
	cfg.pressure = ex->pressure;
	cfg.quiet = true;
	cfg.legacy = legacy ? LEGACY_BIT(ex->sw) : 0;

	legacy_taint_clear();
	ret = vmm_create(&cfg, &vm, err, sizeof(err));
	if (ret) {
		snprintf(res->what, sizeof(res->what), "%s", err);
		return ret;
	}
	console = fmemopen(res->console, sizeof(res->console) - 1, "w");
	if (!console) {
		vmm_destroy(vm);
		snprintf(res->what, sizeof(res->what), "cannot capture the console");
		return -ENOMEM;
	}
	vm->console_out = console;
	saved = quiet_stderr(mu);
	res->status = vmm_run(vm);
	res->guest_exited = vm->guest_exited;
	snprintf(res->what, sizeof(res->what), "%s", vm->guest_exited ? "" : vm->stop_message);
	vmm_destroy(vm); /* exit_mmap's reports belong to the run too */
	restore_stderr(saved);
	fclose(console);
	take_reports(res);
	return 0;
}

static int exhibit_run(const struct museum *mu, const struct exhibit *ex, bool legacy,
		       struct museum_result *res)
{
	int saved, ret;

	if (!ex->host)
		return guest_run(mu, ex, legacy, res);
	memset(res, 0, sizeof(*res));
	legacy_taint_clear();
	saved = quiet_stderr(mu);
	ret = ex->host(legacy, res);
	restore_stderr(saved);
	take_reports(res);
	return ret;
}

/* "rule 3 flush before return", or "shadow MMU: shadowed guest tables write-protected". */
static const char *rule_label(enum legacy_switch sw, char *buf, size_t len)
{
	if (legacy_rule(sw))
		snprintf(buf, len, "rule %d %s", legacy_rule(sw), legacy_broken(sw));
	else
		snprintf(buf, len, "shadow MMU: %s", legacy_broken(sw));
	return buf;
}

static const char *plural_reports(unsigned long n)
{
	return n == 1 ? "report" : "reports";
}

/* The first line of the guest's console that says FAIL, for the guest-check catch. */
static const char *guest_fail_line(const struct museum_result *res, char *buf, size_t len)
{
	const char *fail = strstr(res->console, "FAIL");
	const char *bol = fail, *eol;

	if (!fail)
		return NULL;
	while (bol > res->console && bol[-1] != '\n')
		bol--;
	eol = strchr(fail, '\n');
	snprintf(buf, len, "%.*s", (int)((eol ? eol : fail + strlen(fail)) - bol), bol);
	return buf;
}

/* Did the switched run show the break?  Says how in @how. */
static bool caught(const struct exhibit *ex, const struct museum_result *res, char *how, size_t len)
{
	char line[160];

	switch (ex->catch) {
	case CATCH_SANITIZER:
		if (!res->reports[REPORT_SANITIZER])
			return false;
		snprintf(how, len, "sanitizer: %s (%lu %s", res->title[REPORT_SANITIZER],
			 res->reports[REPORT_SANITIZER],
			 plural_reports(res->reports[REPORT_SANITIZER]));
		return true;
	case CATCH_LOCK_CHECKER:
		for (int cls = REPORT_LOCKDEP; cls <= REPORT_ATOMIC_SLEEP; cls++) {
			if (!res->reports[cls])
				continue;
			snprintf(how, len, "lock checker: %s (%lu %s", res->title[cls],
				 res->reports[cls], plural_reports(res->reports[cls]));
			return true;
		}
		return false;
	case CATCH_GUEST_CHECK:
		if (!res->guest_exited || !res->status || !guest_fail_line(res, line, sizeof(line)))
			return false;
		snprintf(how, len, "guest's own check: %.120s (status %d", line, res->status);
		return true;
	}
	return false;
}

/* Is the run without the switch clean?  Says what was wrong in @why. */
static bool clean(const struct exhibit *ex, const struct museum_result *res, char *why, size_t len)
{
	for (int cls = 0; cls < NR_REPORT_CLASSES; cls++) {
		if (!res->reports[cls])
			continue;
		snprintf(why, len, "%s report: %s", report_class_name(cls), res->title[cls]);
		return false;
	}
	if (ex->host) {
		if (res->status) {
			snprintf(why, len, "%.200s", res->what);
			return false;
		}
		return true;
	}
	if (!res->guest_exited || res->status || !strstr(res->console, ex->ok)) {
		snprintf(why, len, "guest status %d%s%.200s", res->status, res->what[0] ? ": " : "",
			 res->what);
		return false;
	}
	return true;
}

/*
 * Show one exhibit: the switched run until caught (up to MUSEUM_TRIES for
 * a race left to the pressure agents; a host scenario is deterministic),
 * then the run without it.  Returns 0 when both held, 1 otherwise, and -1
 * for an exhibit this backend or build cannot show (having said why).
 */
static int show(const struct museum *mu, const struct exhibit *ex)
{
	struct museum_result *res = calloc(1, sizeof(*res));
	char label[96], how[300] = "", why[300] = "";
	bool got = false, ok = false;
	int tries = ex->host ? 1 : MUSEUM_TRIES, i, ret = 0;
	const char *skip = NULL;

	if (!res) {
		fprintf(stderr, "nopin museum: out of memory\n");
		return 1;
	}
	if (mu->backend == VMM_BACKEND_KVM && ex->not_on_kvm)
		skip = ex->not_on_kvm;
#ifndef CONFIG_LOCKDEP
	if (ex->catch == CATCH_LOCK_CHECKER)
		skip = "the lock checker is compiled out of release builds";
#endif
	printf("%s | %s | %s | ", rule_label(ex->sw, label, sizeof(label)), legacy_name(ex->sw),
	       legacy_history(ex->sw));
	if (skip) {
		printf("not shown on this %s: %s\n",
		       mu->backend == VMM_BACKEND_KVM && ex->not_on_kvm ? "backend" : "build",
		       skip);
		ret = -1;
		goto out;
	}
	for (i = 0; i < tries && !got; i++) {
		if (exhibit_run(mu, ex, true, res)) {
			snprintf(how, sizeof(how), "could not run: %.200s", res->what);
			break;
		}
		got = caught(ex, res, how, sizeof(how));
	}
	if (got && ex->host)
		snprintf(how + strlen(how), sizeof(how) - strlen(how), ", host scenario)");
	else if (got)
		snprintf(how + strlen(how), sizeof(how) - strlen(how), ", run %d of %s)", i,
			 ex->image);
	else if (!how[0])
		snprintf(how, sizeof(how), "NOT CAUGHT in %d runs (last: status %d%s%.200s)", tries,
			 res->status, res->what[0] ? ", " : "", res->what);
	if (exhibit_run(mu, ex, false, res))
		snprintf(why, sizeof(why), "could not run: %.200s", res->what);
	else
		ok = clean(ex, res, why, sizeof(why));
	printf("caught: %s | without it: %s\n", got ? how : "no", ok ? "clean" : why);
	if (!got)
		printf("    %s\n", how);
	ret = got && ok ? 0 : 1;
out:
	fflush(stdout);
	free(res);
	return ret;
}

/* Before anything runs: is every image the chosen exhibits need there?  Says which is not. */
static bool missing_image(const struct museum *mu, long rule)
{
	char image[PATH_MAX + 96];

	for (size_t i = 0; i < ARRAY_SIZE(exhibits); i++) {
		if (!exhibits[i].image || (rule >= 0 && legacy_rule(exhibits[i].sw) != rule))
			continue;
		snprintf(image, sizeof(image), "%s/%s.elf", mu->guest_dir, exhibits[i].image);
		if (access(image, R_OK)) {
			fprintf(stderr,
				"nopin museum: no guest image %s: %s (build the guest images, or "
				"give --guest-dir DIR)\n",
				image, strerror(errno));
			return true;
		}
	}
	return false;
}

enum { OPT_BACKEND = 256, OPT_RULE, OPT_GUEST_DIR, OPT_VERBOSE };

static const struct option museum_options[] = {
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "rule", required_argument, NULL, OPT_RULE },
	{ "guest-dir", required_argument, NULL, OPT_GUEST_DIR },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_museum(int argc, char **argv)
{
	struct museum mu = { .backend = VMM_BACKEND_SOFT };
	unsigned int total = 0, shown = 0, failed = 0;
	long rule = -1;
	char *end;
	int opt, ret;

	if (default_guest_dir(mu.guest_dir, sizeof(mu.guest_dir)))
		snprintf(mu.guest_dir, sizeof(mu.guest_dir), "guest");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", museum_options, NULL)) != -1) {
		switch (opt) {
		case OPT_BACKEND:
			if (!strcmp(optarg, "soft"))
				mu.backend = VMM_BACKEND_SOFT;
			else if (!strcmp(optarg, "kvm"))
				mu.backend = VMM_BACKEND_KVM;
			else
				return bad_option("museum", "--backend", optarg, "use soft or kvm");
			break;
		case OPT_RULE:
			errno = 0;
			rule = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || rule < 0 || rule > NR_PROTOCOL_RULES)
				return bad_option("museum", "--rule", optarg,
						  "use a rule number, 1-8, or 0 for the shadow "
						  "MMU's coherence");
			break;
		case OPT_GUEST_DIR:
			snprintf(mu.guest_dir, sizeof(mu.guest_dir), "%s", optarg);
			break;
		case OPT_VERBOSE:
			mu.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return VMM_EXIT_USAGE; /* getopt said what */
		}
	}
	if (optind != argc) {
		fprintf(stderr,
			"nopin museum: unexpected argument '%s' (try 'nopin museum --help')\n",
			argv[optind]);
		return VMM_EXIT_USAGE;
	}
	if (missing_image(&mu, rule))
		return VMM_EXIT_USAGE;
	for (size_t i = 0; i < ARRAY_SIZE(exhibits); i++) {
		if (rule >= 0 && legacy_rule(exhibits[i].sw) != rule)
			continue;
		total++;
		ret = show(&mu, &exhibits[i]);
		shown += ret >= 0;
		failed += ret > 0;
	}
	legacy_taint_clear();
	printf("museum: %u %s, %u shown, %u failed\n", total, total == 1 ? "switch" : "switches",
	       shown, failed);
	return failed ? 1 : 0;
}
