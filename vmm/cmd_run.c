// SPDX-License-Identifier: GPL-2.0
/*
 * nopin run: boot a guest image and return its exit status; and the
 * options and the run itself that `nopin exec` (cmd_exec.c) shares.
 *
 * Exit status: the guest's status (its low 8 bits); VMM_EXIT_SANITIZER if
 * it exited 0 but the sanitizer reported; VMM_EXIT_GUEST_STOPPED if the
 * guest was stopped (a wild access, an unsupported instruction);
 * VMM_EXIT_GUEST_HALTED if every vCPU halted with nothing to wake one;
 * VMM_EXIT_VMM_ERROR if the VM could not be built or the trace written;
 * 128 + N after signal N (SIGINT, SIGTERM, SIGHUP); 2 for a usage error.
 * A guest may exit with any of these, so every status the VMM chose comes
 * with one line on stderr beginning "nopin CMD: ", and a guest's own exit
 * with none: that line, not the number, tells them apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/current.h"
#include "base/legacy.h"
#include "base/report.h"
#include "base/trace.h"
#include "vmm/commands.h"
#include "vmm/kvm/devkvm_util.h"
#include "vmm/util.h"
#include "vmm/vm.h"

void run_options_help(FILE *f)
{
	fprintf(f,
		"  --backend auto|soft|kvm  vCPU backend (auto: kvm if /dev/kvm works on vmx or\n"
		"                           svm, else soft)\n"
		"  --mem SIZE               guest RAM (default 64M; K, M, G suffixes)\n"
		"  --pool SIZE              host frame pool; smaller than --mem means pressure\n"
		"                           (default 64M; at least 64K, at most the host's\n"
		"                           memory; RAM beyond it must fit the swap file's disk)\n"
		"  --vcpus N                vCPUs (default 1)\n"
		"  --mmu flat|tdp|shadow    how guest-virtual addresses become guest-physical:\n"
		"                           flat, the identity map (a guest with no tables);\n"
		"                           tdp, the guest's own tables walked through the\n"
		"                           secondary MMU (soft backend; its default); shadow,\n"
		"                           shadow tables the VMM builds from the guest's\n"
		"                           (both backends) (default: tdp on soft, shadow on kvm)\n"
		"  --mem-file PATH          back guest RAM by a shared mapping of PATH\n"
		"  --swap FILE              swap file for reclaim of anonymous RAM\n"
		"  --legacy NAME            bring back a historical bug that breaks one protocol\n"
		"                           rule (repeatable; docs/design.md, \"The museum\"):\n");
	for (unsigned int i = 0; i < NR_LEGACY_SWITCHES; i++) {
		if (legacy_rule(i))
			fprintf(f, "      %-29s rule %d, %s\n          %s\n", legacy_name(i),
				legacy_rule(i), legacy_broken(i), legacy_bug(i));
		else
			fprintf(f, "      %-29s %s\n          %s\n", legacy_name(i),
				legacy_broken(i), legacy_bug(i));
	}
	fprintf(f,
		"  --pin                    pin guest pages (the baseline nopin avoids)\n"
		"  --pressure LIST          host threads working on guest RAM while it runs:\n"
		"                           reclaim, migrate, mprotect, age, dontneed-free,\n"
		"                           fork or all, each optionally =PERIOD (50ms);\n"
		"                           fault-race (not in all) pages out the page under\n"
		"                           a fault in flight, the window of rule 2\n"
		"  --stats[=json]           print the run's counters at exit (stderr)\n"
		"  --trace FILE             write a Chrome trace-event JSON of the run (open it\n"
		"                           in https://ui.perfetto.dev or chrome://tracing)\n"
		"  --help                   this text\n");
}

static void run_usage(FILE *f)
{
	fprintf(f, "usage: nopin run [options] IMAGE\n"
		   "\n"
		   "Run a guest image (a static ELF64 x86-64 executable, see guest/README.md).\n"
		   "\n");
	run_options_help(f);
	fprintf(f,
		"\n"
		"Exit status: the guest's; %d if it exited 0 but the sanitizer reported;\n"
		"%d if the guest was stopped; %d if every vCPU halted (nothing can wake one);\n"
		"%d if the VM could not be built or the trace written; 128+N after signal N\n"
		"(SIGINT, SIGTERM, SIGHUP); 2 for bad options.  Every status the VMM chose\n"
		"comes with a line on stderr beginning 'nopin run: '; the guest's own has none.\n",
		VMM_EXIT_SANITIZER, VMM_EXIT_GUEST_STOPPED, VMM_EXIT_GUEST_HALTED,
		VMM_EXIT_VMM_ERROR);
}

enum {
	OPT_BACKEND = 256,
	OPT_MEM,
	OPT_POOL,
	OPT_VCPUS,
	OPT_MEM_FILE,
	OPT_SWAP,
	OPT_LEGACY,
	OPT_PIN,
	OPT_PRESSURE,
	OPT_STATS,
	OPT_TRACE,
	OPT_MMU,
	OPT_ROOT,
	OPT_RW,
	OPT_KERNEL,
};

static const struct option run_options[] = {
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "pool", required_argument, NULL, OPT_POOL },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "mem-file", required_argument, NULL, OPT_MEM_FILE },
	{ "swap", required_argument, NULL, OPT_SWAP },
	{ "legacy", required_argument, NULL, OPT_LEGACY },
	{ "pin", no_argument, NULL, OPT_PIN },
	{ "pressure", required_argument, NULL, OPT_PRESSURE },
	{ "stats", optional_argument, NULL, OPT_STATS },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "mmu", required_argument, NULL, OPT_MMU },
	/* nopin exec's own: refused by nopin run */
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "rw", no_argument, NULL, OPT_RW },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int parse_backend(const char *arg, enum vmm_backend_kind *kind)
{
	if (!strcmp(arg, "auto"))
		*kind = VMM_BACKEND_AUTO;
	else if (!strcmp(arg, "soft"))
		*kind = VMM_BACKEND_SOFT;
	else if (!strcmp(arg, "kvm"))
		*kind = VMM_BACKEND_KVM;
	else
		return -EINVAL;
	return 0;
}

static int parse_mmu(const char *arg, int *mode)
{
	for (int m = KVM_MMU_FLAT; m <= KVM_MMU_SHADOW; m++) {
		if (!strcmp(arg, kvm_mmu_mode_name(m))) {
			*mode = m;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Where guest RAM the pool cannot hold goes, and the bytes free there: the
 * --mem-file itself, or the swap file (--swap's, else a temporary one in
 * /tmp).  Either file is rewritten, so its own blocks count as free.
 */
static int ram_backing_free(const struct vmm_config *cfg, const char **where, size_t *bytes)
{
	struct stat st;
	int ret;

	*where = cfg->mem_file ? cfg->mem_file : cfg->swap_file ? cfg->swap_file : "/tmp/";
	ret = fs_free_bytes(*where, bytes);
	if (!ret && !stat(*where, &st) && S_ISREG(st.st_mode))
		*bytes += (size_t)st.st_blocks * 512;
	return ret;
}

/*
 * Sizes the host cannot give are refused before anything is allocated: a
 * pool larger than the machine once ran for minutes at 20 GB before it
 * failed.  --pool is host memory nopin allocates (and a struct page per
 * frame), so no more than host_memory_limit() allows, and no less than
 * VMM_MIN_POOL, below which kswapd has no watermarks to keep.  --mem is
 * guest RAM the guest may touch all of: what the pool cannot hold goes to
 * the swap file, or is the --mem-file, so it must fit the free space of
 * that file's file system.  The default sizes are checked too.
 */
static int run_check_sizes(const char *cmd, struct run_options *o)
{
	const struct vmm_config *cfg = &o->cfg;
	char why[256], what[96], a[32], b[32];
	size_t limit = host_memory_limit(what, sizeof(what)), free_bytes;
	const char *pool = o->pool_arg ? o->pool_arg : "64M", *where;

	if (cfg->pool_bytes < VMM_MIN_POOL) {
		snprintf(why, sizeof(why),
			 "the smallest pool is %luK, %lu frames (kswapd keeps between %lu and "
			 "%lu of them free)",
			 VMM_MIN_POOL >> 10, VMM_MIN_POOL >> PAGE_SHIFT, VMM_MIN_POOL_WMARK_LOW,
			 VMM_MIN_POOL_WMARK_HIGH);
		return bad_option(cmd, "--pool", pool, why);
	}
	if (cfg->pool_bytes > limit) {
		format_size(limit, a, sizeof(a));
		snprintf(why, sizeof(why), "more than this host lets nopin have: %s, its %s", a,
			 what);
		return bad_option(cmd, "--pool", pool, why);
	}
	if (cfg->mem_bytes <= cfg->pool_bytes || ram_backing_free(cfg, &where, &free_bytes))
		return 0; /* vmm_create() says what is wrong with the path */
	if (cfg->mem_bytes - cfg->pool_bytes > free_bytes) {
		format_size(cfg->mem_bytes - cfg->pool_bytes, a, sizeof(a));
		format_size(free_bytes, b, sizeof(b));
		snprintf(why, sizeof(why),
			 "the %s of guest RAM the pool cannot hold go to %s, whose file system has "
			 "%s free",
			 a, where, b);
		return bad_option(cmd, "--mem", o->mem_arg ? o->mem_arg : "64M", why);
	}
	return 0;
}

int run_parse_options(const char *cmd, int argc, char **argv, struct run_options *o,
		      void (*usage)(FILE *f))
{
	struct vmm_config *cfg = &o->cfg;
	bool exec = !strcmp(cmd, "exec");
	unsigned long n;
	enum legacy_switch sw;
	int opt;

	optind = 1;
	/* exec: options end at PROGRAM, whose own options are its arguments. */
	while ((opt = getopt_long(argc, argv, exec ? "+h" : "h", run_options, NULL)) != -1) {
		switch (opt) {
		case OPT_BACKEND:
			if (parse_backend(optarg, &cfg->backend))
				return bad_option(cmd, "--backend", optarg,
						  "use auto, soft or kvm");
			break;
		case OPT_MEM:
			if (parse_size(optarg, &cfg->mem_bytes))
				return bad_option(cmd, "--mem", optarg, "a size like 64M");
			o->mem_arg = optarg;
			break;
		case OPT_POOL:
			if (parse_size(optarg, &cfg->pool_bytes))
				return bad_option(cmd, "--pool", optarg, "a size like 64M");
			o->pool_arg = optarg;
			break;
		case OPT_VCPUS:
			if (parse_count(optarg, &n) || n > NR_CPUS) {
				char why[64];

				snprintf(why, sizeof(why), "a count from 1 to %d", NR_CPUS);
				return bad_option(cmd, "--vcpus", optarg, why);
			}
			cfg->nr_vcpus = n;
			break;
		case OPT_MEM_FILE:
			cfg->mem_file = optarg;
			break;
		case OPT_SWAP:
			cfg->swap_file = optarg;
			break;
		case OPT_LEGACY:
			if (legacy_parse(optarg, &sw))
				return bad_option(cmd, "--legacy", optarg,
						  "see --help for the switches");
			cfg->legacy |= LEGACY_BIT(sw);
			break;
		case OPT_PIN:
			cfg->pin = true;
			break;
		case OPT_MMU:
			if (parse_mmu(optarg, &cfg->mmu))
				return bad_option(cmd, "--mmu", optarg, "use flat, tdp or shadow");
			break;
		case OPT_PRESSURE: {
			struct pressure check;
			char why[160];
			int err = pressure_init(&check, 0);

			if (!err)
				err = pressure_parse(&check, optarg, why, sizeof(why));
			pressure_destroy(&check);
			if (err)
				return bad_option(cmd, "--pressure", optarg, why);
			cfg->pressure = optarg;
			break;
		}
		case OPT_TRACE:
			o->trace = optarg;
			break;
		case OPT_STATS:
			if (optarg && strcmp(optarg, "json"))
				return bad_option(cmd, "--stats", optarg,
						  "use --stats or --stats=json");
			o->stats = optarg ? 2 : 1;
			break;
		case OPT_ROOT:
		case OPT_RW:
		case OPT_KERNEL:
			if (!exec) {
				fprintf(stderr,
					"nopin %s: %s is an option of nopin exec (try 'nopin %s "
					"--help')\n",
					cmd, argv[optind - 1], cmd);
				return VMM_EXIT_USAGE;
			}
			if (opt == OPT_ROOT)
				o->exec.root = optarg;
			else if (opt == OPT_RW)
				o->exec.rw = true;
			else
				o->kernel = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			return VMM_EXIT_USAGE; /* getopt said what */
		}
	}
	return run_check_sizes(cmd, o);
}

/*
 * --backend auto: kvm when /dev/kvm opens with what the backend needs and
 * runs on hardware virtualization, else soft; say which.
 */
static void choose_backend(struct vmm_config *cfg)
{
	struct devkvm_err err = { "" };

	if (cfg->backend != VMM_BACKEND_AUTO)
		return;
	if (devkvm_usable(&err) && devkvm_hardware(&err)) {
		cfg->backend = VMM_BACKEND_KVM;
		if (!cfg->quiet)
			fprintf(stderr, "nopin: backend kvm\n");
		return;
	}
	if (!cfg->quiet)
		fprintf(stderr, "nopin: backend soft (%s)\n", err.msg);
	cfg->backend = VMM_BACKEND_SOFT;
}

/*
 * SIGINT, SIGTERM and SIGHUP end the run as the guest's own exit would:
 * the vCPUs are kicked out of KVM_RUN or the soft loop, the stop line and
 * --stats printed, the trace closed as valid JSON, and nopin exits 128 + N
 * (run_vm()).  None of that may run in a signal handler (it takes locks,
 * allocates and writes files), so the signals are blocked in every thread
 * -- from before the first one starts, so that each inherits the mask --
 * and read from a signalfd by a thread of their own, which stops the VM as
 * a vCPU would.  After the first, that thread unblocks them in itself,
 * where their action is still the default: a second signal kills nopin at
 * once, for the user whose first ^C did not seem to do anything (a vCPU
 * stuck in a host call vmm_wait_fd() does not cover).  A signal
 * ignored when nopin started (nohup's SIGHUP, a background job's SIGINT)
 * stays ignored, so it is left out of the set: the kernel never discards
 * a blocked signal as ignored, and the signalfd would see it.
 */
struct run_signals {
	sigset_t set, old;
	int sfd; /* signalfd(set) */
	int efd; /* eventfd: the run is over, the thread may go */
	pthread_t thread;
	struct vmm *vm;
	bool started;
};

static void run_signals_block(struct run_signals *s)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };

	sigemptyset(&s->set);
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
		struct sigaction sa;

		/* A blocked signal is never discarded as ignored: leave those alone. */
		if (!sigaction(signals[i], NULL, &sa) && sa.sa_handler != SIG_IGN)
			sigaddset(&s->set, signals[i]);
	}
	pthread_sigmask(SIG_BLOCK, &s->set, &s->old);
	s->sfd = s->efd = -1;
	s->started = false;
}

static void *run_signals_thread(void *arg)
{
	struct run_signals *s = arg;
	struct pollfd fds[2] = { { .fd = s->efd, .events = POLLIN },
				 { .fd = s->sfd, .events = POLLIN } };
	struct signalfd_siginfo si;
	int nfds = 2;

	task_register("nopin-signals");
	while (poll(fds, nfds, -1) >= 0 || errno == EINTR) {
		if (fds[0].revents)
			break;
		if (!(fds[1].revents & POLLIN) || read(s->sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		vmm_stop(s->vm, 128 + (int)si.ssi_signo, "stopped by SIG%s (signal %u)",
			 sigabbrev_np((int)si.ssi_signo), si.ssi_signo);
		pthread_sigmask(SIG_UNBLOCK, &s->set, NULL);
		nfds = 1; /* the next one kills, by its default action */
	}
	task_unregister();
	return NULL;
}

static int run_signals_start(struct run_signals *s, struct vmm *vm)
{
	int err;

	s->vm = vm;
	s->sfd = signalfd(-1, &s->set, SFD_CLOEXEC);
	s->efd = eventfd(0, EFD_CLOEXEC);
	if (s->sfd < 0 || s->efd < 0)
		return -errno;
	err = pthread_create(&s->thread, NULL, run_signals_thread, s);
	if (err)
		return -err;
	s->started = true;
	return 0;
}

/* The run is over: end the thread, which may no longer stop the VM. */
static void run_signals_stop(struct run_signals *s)
{
	uint64_t one = 1;

	if (s->started) {
		if (write(s->efd, &one, sizeof(one)) != sizeof(one))
			abort(); /* adding 1 to a fresh eventfd cannot fail */
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->efd >= 0)
		close(s->efd);
	s->sfd = s->efd = -1;
}

/*
 * The mask as it was, once the trace is closed and all is said: a signal
 * that came after the thread ended acts now, by its default action.
 */
static void run_signals_unblock(struct run_signals *s)
{
	pthread_sigmask(SIG_SETMASK, &s->old, NULL);
}

/*
 * The status and the line of the VMM's own ending (the top comment's
 * scheme): a status the VMM chose always comes with a "nopin CMD: " line
 * on stderr, so a guest's own 120-123 is told apart by its absence.
 */
static int run_end_status(const char *cmd, int status, int trace_err, const char *trace)
{
	unsigned long reports = report_total();

	if (trace_err) {
		fprintf(stderr, "nopin %s: cannot write trace %s: %s (the run's status was %d)\n",
			cmd, trace, strerror(-trace_err), status & 0xff);
		return VMM_EXIT_VMM_ERROR;
	}
	if (status == 0 && reports) {
		fprintf(stderr,
			"nopin %s: the guest exited 0, but the sanitizer reported %lu time%s\n",
			cmd, reports, reports == 1 ? "" : "s");
		return VMM_EXIT_SANITIZER;
	}
	return status & 0xff;
}

int run_vm(const char *cmd, struct run_options *o)
{
	struct vmm_config *cfg = &o->cfg;
	struct run_signals sigs;
	struct vmm *vm;
	char err[512];
	enum kvm_mmu_mode mode;
	int ret, status;

	choose_backend(cfg);
	if (vmm_mmu_mode(cfg, &mode, err, sizeof(err))) {
		fprintf(stderr, "nopin %s: %s\n", cmd, err);
		return VMM_EXIT_USAGE;
	}
	if (o->trace) {
		ret = trace_open(o->trace);
		if (ret) {
			fprintf(stderr, "nopin %s: cannot write trace %s: %s\n", cmd, o->trace,
				strerror(-ret));
			return VMM_EXIT_VMM_ERROR;
		}
	}
	run_signals_block(&sigs); /* before vmm_create() starts kswapd */
	ret = vmm_create(cfg, &vm, err, sizeof(err));
	if (ret) {
		run_signals_unblock(&sigs);
		trace_close();
		fprintf(stderr, "nopin %s: %s\n", cmd, err);
		return VMM_EXIT_VMM_ERROR;
	}
	ret = run_signals_start(&sigs, vm);
	if (ret)
		vmm_stop(vm, VMM_EXIT_VMM_ERROR, "cannot watch for signals: %s", strerror(-ret));
	status = vmm_run(vm);
	run_signals_stop(&sigs);
	if (!vm->guest_exited) {
		fprintf(stderr, "nopin %s: %s\n", cmd, vm->stop_message);
		if (vmm_describe_writeback_error(vm, err, sizeof(err)))
			fprintf(stderr, "nopin %s: the host could not free guest RAM: %s\n", cmd,
				err);
	}
	if (o->stats)
		vmm_print_stats(vm, stderr, o->stats == 2);
	vmm_destroy(vm);
	ret = trace_close(); /* every traced thread has stopped */
	status = run_end_status(cmd, status, ret, o->trace);
	run_signals_unblock(&sigs);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_options o = { 0 };
	int ret;

	vmm_config_init(&o.cfg);
	ret = run_parse_options("run", argc, argv, &o, run_usage);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind != argc - 1) {
		fprintf(stderr, "nopin run: %s (try 'nopin run --help')\n",
			optind == argc ? "no guest image given" :
					 "more than one guest image given");
		return VMM_EXIT_USAGE;
	}
	o.cfg.image = argv[optind];
	o.cfg.progress = isatty(STDERR_FILENO);
	return run_vm("run", &o);
}
