# cmake -P script, run by nopin_add_test() after each link of a test binary
# (cmake/Testing.cmake), as CMake's gtest_discover_tests runs its own: asks
# the binary for its cases and writes what ctest registers for them.
#
#   -D BINARY=<path> -D NAME=<binary name> -D LABELS=<a,b> -D TIMEOUT=<s>
#   -D MODE=PLAIN|NESTED|NESTED_ONLY -D CTEST_FILE=<out> -D NESTED_LIST=<out>
#   -D NESTED_CASE=<tests/nested/nested-case> -D NESTED_OUT=<dir>
#
# CTEST_FILE gets "<NAME>.<case>" for each case "<BINARY> --list" prints
# (unless NESTED_ONLY); with NESTED or NESTED_ONLY it also gets
# "nested.<NAME>.<case>", and NESTED_LIST the "<BINARY> <case>" lines of
# the nested.boot fixture's list.
#
#   -D JOIN=<file,file...> -D OUT=<file>
#
# is the nested_cases target's call: join those NESTED_LISTs into OUT, the
# list nested.boot runs (tests/nested/nested-vm), in the order given.

# Rewrite only what changed, so ctest and the nested list see stable files.
function(write_if_changed path content)
	if(EXISTS ${path})
		file(READ ${path} old)
		if(old STREQUAL content)
			return()
		endif()
	endif()
	file(WRITE ${path} "${content}")
endfunction()

if(DEFINED JOIN)
	string(REPLACE "," ";" lists "${JOIN}")
	set(content "")
	foreach(list IN LISTS lists)
		if(NOT EXISTS ${list})
			message(FATAL_ERROR "${list} is missing: its test binary was not built")
		endif()
		file(READ ${list} part)
		string(APPEND content "${part}")
	endforeach()
	write_if_changed(${OUT} "${content}")
	return()
endif()

foreach(var BINARY NAME LABELS TIMEOUT MODE CTEST_FILE)
	if(NOT DEFINED ${var})
		message(FATAL_ERROR "DiscoverTests.cmake: -D ${var}=... missing")
	endif()
endforeach()

execute_process(COMMAND ${BINARY} --list
		OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "${BINARY} --list failed (${rc}):\n${err}")
endif()
string(REPLACE "\n" ";" cases "${out}")
string(REPLACE "," ";" labels "${LABELS}")

set(script "# Written by cmake/DiscoverTests.cmake from ${NAME} --list: do not edit.\n")
set(nested "")
set(count 0)
foreach(tc IN LISTS cases)
	if(tc STREQUAL "")
		continue()
	endif()
	if(NOT tc MATCHES "^[A-Za-z0-9_]+$")
		message(FATAL_ERROR "${BINARY} --list printed '${tc}', not a case name")
	endif()
	math(EXPR count "${count} + 1")
	if(NOT MODE STREQUAL "NESTED_ONLY")
		string(APPEND script
			"add_test([==[${NAME}.${tc}]==] [==[${BINARY}]==] [==[${tc}]==])\n"
			"set_tests_properties([==[${NAME}.${tc}]==] PROPERTIES "
			"LABELS [==[${labels}]==] TIMEOUT ${TIMEOUT} SKIP_RETURN_CODE 4)\n")
	endif()
	if(MODE STREQUAL "NESTED" OR MODE STREQUAL "NESTED_ONLY")
		string(APPEND script
			"add_test([==[nested.${NAME}.${tc}]==] [==[${NESTED_CASE}]==] "
			"[==[${NESTED_OUT}]==] [==[${BINARY}]==] [==[${tc}]==])\n"
			"set_tests_properties([==[nested.${NAME}.${tc}]==] PROPERTIES "
			"LABELS nested TIMEOUT 900 SKIP_RETURN_CODE 4 FIXTURES_REQUIRED nested_vm)\n")
		string(APPEND nested "${BINARY} ${tc}\n")
	endif()
endforeach()
if(count EQUAL 0)
	message(FATAL_ERROR "${BINARY} --list printed no case")
endif()

write_if_changed(${CTEST_FILE} "${script}")
if(DEFINED NESTED_LIST)
	write_if_changed(${NESTED_LIST} "${nested}")
endif()
