# Every dependency is a Debian package; a missing one is a configure error
# that names the package to install.
find_package(Threads REQUIRED)
find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
	message(FATAL_ERROR "pkg-config not found: apt-get install -y pkg-config")
endif()

# nopin_require_pkg(<target> <pkg-config module> <Debian package>)
function(nopin_require_pkg target module debpkg)
	pkg_check_modules(${target} QUIET IMPORTED_TARGET GLOBAL ${module})
	if(NOT ${target}_FOUND)
		message(FATAL_ERROR
			"${module} not found (pkg-config): apt-get install -y ${debpkg}")
	endif()
	message(STATUS "${module} ${${target}_VERSION} (${debpkg})")
endfunction()

nopin_require_pkg(DEP_CAPSTONE capstone libcapstone-dev)
nopin_require_pkg(DEP_LIBBSD libbsd libbsd-dev)
nopin_require_pkg(DEP_URCU_MEMB liburcu-memb liburcu-dev)
nopin_require_pkg(DEP_UNICORN unicorn libunicorn-dev)

# What the library itself links: the decoder (reports disassemble guest
# instructions) and libbsd's trees.  liburcu and Unicorn are peers used only
# by benchmarks and differential tests.
add_library(nopin_deps INTERFACE)
add_library(nopin::deps ALIAS nopin_deps)
target_link_libraries(nopin_deps INTERFACE PkgConfig::DEP_CAPSTONE PkgConfig::DEP_LIBBSD)
