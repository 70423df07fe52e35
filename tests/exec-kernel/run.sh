#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run.sh NOPIN ROOT [RUN OPTIONS...] -- PROGRAM [ARG...]
#
# Runs PROGRAM natively in ROOT, then under `NOPIN exec [RUN OPTIONS]
# --root ROOT` from ROOT, and passes (exit 0) only if both print the same
# stdout and exit with the same status.  The guest's stderr (the VMM's
# and the kernel's diagnostics) is shown on a failure.
set -u
nopin=$1 root=$2
shift 2
opts=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	opts="$opts $1"
	shift
done
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1
# A shell reports a program killed by signal N as 128 + N, as nopin exec does.
sh -c '"$@"' sh "$@" >"$tmp/native.out" 2>"$tmp/native.err"
native=$?
if [ "$native" -eq 126 ] || [ "$native" -eq 127 ]; then
	echo "FAIL: $*: the native run did not start (exit $native)"
	cat "$tmp/native.err"
	exit 1
fi
# shellcheck disable=SC2086
"$nopin" exec $opts --root "$root" "$@" >"$tmp/guest.out" 2>"$tmp/guest.err"
guest=$?
if [ "$native" -ne "$guest" ] || ! cmp -s "$tmp/native.out" "$tmp/guest.out"; then
	echo "FAIL: $*: native exit $native, nopin exec exit $guest"
	diff "$tmp/native.out" "$tmp/guest.out" | head -40
	echo "--- nopin exec's stderr:"
	head -40 "$tmp/guest.err"
	exit 1
fi
echo "ok: $* (exit $guest, $(wc -c <"$tmp/guest.out") bytes of stdout alike)"
