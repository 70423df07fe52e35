/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The busybox applets the exec label runs (workloads.c) and bench_exec
 * times (bench/exec.c), with their arguments, in one list so the two never
 * part: X(name, applet, arguments...).  The inputs are gen_input's, under
 * the workloads' root: text.txt, data.bin, text.gz.
 */
#ifndef NOPIN_TESTS_EXEC_APPLETS_H
#define NOPIN_TESTS_EXEC_APPLETS_H

#define EXEC_BUSYBOX_APPLETS(X)                                                                    \
	X(sha256sum, "sha256sum", "data.bin", "text.txt")                                          \
	X(md5sum, "md5sum", "data.bin", "text.txt")                                                \
	X(gzip, "gzip", "-c", "text.txt")                                                          \
	X(gunzip, "gunzip", "-c", "text.gz")                                                       \
	X(sort, "sort", "-r", "text.txt")                                                          \
	X(awk, "awk",                                                                              \
	  "{ s += $2; n[$1]++ } END { for (k in n) print k, n[k];"                                 \
	  " printf \"%d %.3f\\n\", s, s / NR }",                                                   \
	  "text.txt")                                                                              \
	X(sed, "sed", "-e", "s/page/PAGE/g", "-e", "/^host/d", "text.txt")                         \
	X(wc, "wc", "text.txt", "data.bin")                                                        \
	X(od, "od", "-A", "x", "-t", "x1", "-N", "32768", "data.bin")

#endif
