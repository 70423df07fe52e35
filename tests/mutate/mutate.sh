#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Apply each mutation of tests/mutate/*.patch to the product code, build,
# run the tests that should kill it, and report killed or survived; the
# tree is restored after each one and on any exit.  See README.md.
#
#	tests/mutate/mutate.sh [--full] [NAME...]
#
# --full runs the whole default suite (ctest --preset debug) for each
# mutation instead of its "# tests:" regex: slower, but it measures the
# suite rather than the test written for the mutation.
set -uo pipefail

top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel) || exit 2
cd "$top" || exit 2
dir=tests/mutate
jobs=${JOBS:-2}
full=0
names=()
for arg in "$@"; do
	case $arg in
	--full) full=1 ;;
	-h | --help)
		sed -n '3,13p' "$0"
		exit 0
		;;
	*) names+=("$arg") ;;
	esac
done

# Restoring is "undo every change to tracked files", which is only safe
# when there were none to begin with: refuse a dirty tree.
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "mutate.sh: the work tree has uncommitted changes; commit or stash them first" >&2
	exit 2
fi

restore() {
	git checkout -q -- . 2>/dev/null
}
trap 'restore; exit 130' INT TERM HUP
trap restore EXIT

if [ ${#names[@]} -eq 0 ]; then
	for p in "$dir"/*.patch; do
		names+=("$(basename "$p" .patch)")
	done
fi

# A fresh clone (the way to run this beside a work tree in use) has no
# build yet: configure it, so a failure here is not blamed on a mutation.
if [ ! -f build/CMakeCache.txt ]; then
	cmake --preset debug >/dev/null || exit 2
fi
cmake --build --preset debug -j"$jobs" >/dev/null 2>&1 || {
	echo "mutate.sh: the unmutated tree does not build" >&2
	exit 2
}

log=$(mktemp -d)
killed=0
survived=0
broken=0
for name in "${names[@]}"; do
	patch=$dir/$name.patch
	if [ ! -f "$patch" ]; then
		echo "mutate.sh: no $patch" >&2
		exit 2
	fi
	tests=$(sed -n 's/^# tests: //p' "$patch")
	if ! git apply "$patch"; then
		printf '%-36s %s\n' "$name" "DOES NOT APPLY"
		broken=$((broken + 1))
		continue
	fi
	if ! cmake --build --preset debug -j"$jobs" >"$log/$name.build" 2>&1; then
		# A mutation that does not compile is not a test result.
		printf '%-36s %s\n' "$name" "DOES NOT BUILD (see $log/$name.build)"
		broken=$((broken + 1))
		restore
		continue
	fi
	if [ $full -eq 1 ] || [ -z "$tests" ]; then
		ctest --preset debug -j"$jobs" >"$log/$name.test" 2>&1
	else
		ctest --test-dir build -R "$tests" -LE nested --timeout 120 >"$log/$name.test" 2>&1
	fi
	rc=$?
	restore
	if [ $rc -ne 0 ]; then
		failed=$(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\).*/\1/p' "$log/$name.test" | head -3 |
			 paste -sd, -)
		printf '%-36s killed by %s\n' "$name" "${failed:-ctest status $rc}"
		killed=$((killed + 1))
	else
		printf '%-36s SURVIVED\n' "$name"
		survived=$((survived + 1))
	fi
done

# Leave the build matching the restored tree.
cmake --build --preset debug -j"$jobs" >"$log/restore.build" 2>&1 ||
	echo "mutate.sh: rebuilding the restored tree failed (see $log/restore.build)" >&2
echo "score: $killed killed, $survived survived, $broken broken of ${#names[@]} (logs in $log)"
[ $survived -eq 0 ] && [ $broken -eq 0 ]
