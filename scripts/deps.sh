# Sourced by scripts/demo, scripts/test and scripts/bench: make sure the
# Debian packages the build needs are installed.  As root it installs what is
# missing with apt-get; otherwise it prints the exact command and stops.

# The last line: the exec label's workloads (tests/exec), static programs
# built from Debian's static libraries, and busybox-static's applets.
NOPIN_PACKAGES="gcc make cmake pkg-config clang-format musl-tools
	libcapstone-dev liburcu-dev libbsd-dev libunicorn-dev
	busybox-static libsqlite3-dev zlib1g-dev liblua5.4-dev"
# Without /dev/kvm the kvm backend's tests run inside QEMU (tests/nested).
NOPIN_NESTED_PACKAGES="qemu-system-x86 busybox-static"
# scripts/bench only: gnuplot draws its SVG plots (bench/plots/*.gp).
NOPIN_BENCH_PACKAGES="gnuplot-nox"
# scripts/fuzz only: AFL++ (afl-fuzz, afl-clang-fast, afl-cmin).
NOPIN_FUZZ_PACKAGES="afl++"

nopin_missing_packages() { # <packages...>
	local p missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	echo "$missing"
}

nopin_ensure_packages() { # [packages...], NOPIN_PACKAGES by default
	local missing
	# shellcheck disable=SC2086
	missing=$(nopin_missing_packages ${@:-$NOPIN_PACKAGES})
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "nopin needs these Debian packages:$missing" >&2
		echo "install them with:  sudo apt-get install -y$missing" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; exit 1; }
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing || { echo "apt-get install failed:$missing" >&2; exit 1; }
}

# Does /dev/kvm open here, and is it on hardware virtualization (vmx or
# svm)?  Only then do the nested tests run on it; else in QEMU
# (tests/nested/nested-vm, which sources this file too).
nopin_kvm_opens() {
	(exec 3<>/dev/kvm) 2>/dev/null
}

nopin_have_kvm() {
	nopin_kvm_opens && grep -qw -E 'vmx|svm' /proc/cpuinfo
}

# nopin_build <preset> [extra cmake args...]: configure (once) and build.
# The presets build with -Werror; NOPIN_WERROR=OFF in the environment does not.
nopin_build() {
	local preset=$1 werror=()
	shift
	[ -z "${NOPIN_WERROR:-}" ] || werror=(-DNOPIN_WERROR="$NOPIN_WERROR")
	cmake --preset "$preset" "${werror[@]}" "$@" >/dev/null ||
		{ echo "cmake configure ($preset) failed" >&2; exit 1; }
	cmake --build --preset "$preset" -j "$(nproc)" || { echo "build ($preset) failed" >&2; exit 1; }
}
