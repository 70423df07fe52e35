# Sourced by scripts/demo and scripts/test: make sure the Debian packages the
# build needs are installed.  As root it installs what is missing with
# apt-get; otherwise it prints the exact command and stops.

NOPIN_PACKAGES="gcc make cmake pkg-config clang-format
	libcapstone-dev liburcu-dev libbsd-dev libunicorn-dev"

nopin_missing_packages() {
	local p missing=""
	for p in $NOPIN_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	echo "$missing"
}

nopin_ensure_packages() {
	local missing
	missing=$(nopin_missing_packages)
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
	apt-get install -y -q $missing || { echo "apt-get install failed:$missing" >&2; exit 1; }
}

# nopin_build <preset> [extra cmake args...]: configure (once) and build.
nopin_build() {
	local preset=$1
	shift
	cmake --preset "$preset" -DNOPIN_WERROR="${NOPIN_WERROR:-OFF}" "$@" >/dev/null ||
		{ echo "cmake configure ($preset) failed" >&2; exit 1; }
	cmake --build --preset "$preset" -j "$(nproc)" || { echo "build ($preset) failed" >&2; exit 1; }
}
