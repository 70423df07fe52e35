# Tests are ctest tests, one per TEST() case, so a failure names the case.
#
#   nopin_add_test(NAME <binary> SOURCES <files> LABELS <labels> [TIMEOUT s]
#                  [NESTED | NESTED_ONLY])
#
# builds <binary> and registers "<binary>.<case>", running "<binary> <case>",
# for each case "<binary> --list" prints: the registered cases are the
# compiled ones, a case under #ifdef CONFIG_LOCKDEP only where the checker
# is built.  As CMake's gtest_discover_tests does, a POST_BUILD step runs
# cmake/DiscoverTests.cmake, which writes the binary's ctest file; the
# directory's TEST_INCLUDE_FILES reads it (until the first build,
# "<binary>_NOT_BUILT" stands for the binary and fails).  TIMEOUT is a hang
# guard, never a performance check.  NESTED registers each case a second
# time on the kvm backend, "nested.<binary>.<case>" (label nested, see
# tests/nested), from the same list, which also goes into the nested.boot
# fixture's list (nopin_add_nested_cases); NESTED_ONLY registers only that.
enable_testing()

set(NOPIN_NESTED_OUT ${CMAKE_BINARY_DIR}/tests/nested)

function(nopin_add_test)
	cmake_parse_arguments(T "NESTED;NESTED_ONLY" "NAME;TIMEOUT" "SOURCES;LABELS;LIBS" ${ARGN})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 600)
	endif()
	set(mode PLAIN)
	if(T_NESTED_ONLY)
		set(mode NESTED_ONLY)
	elseif(T_NESTED)
		set(mode NESTED)
	endif()
	add_executable(${T_NAME} ${T_SOURCES})
	target_link_libraries(${T_NAME} PRIVATE nopin_test nopin ${T_LIBS})

	set(ctest_file ${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_tests.cmake)
	set(include_file ${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_include.cmake)
	set(nested_list ${NOPIN_NESTED_OUT}/cases.d/${T_NAME})
	string(REPLACE ";" "," labels "${T_LABELS}")
	set(nested_args "")
	if(NOT mode STREQUAL "PLAIN")
		set(nested_args -D NESTED_LIST=${nested_list}
			-D NESTED_CASE=${PROJECT_SOURCE_DIR}/tests/nested/nested-case
			-D NESTED_OUT=${NOPIN_NESTED_OUT})
		set_property(GLOBAL APPEND PROPERTY NOPIN_NESTED_BINARIES ${T_NAME})
		set_property(GLOBAL APPEND PROPERTY NOPIN_NESTED_LISTS ${nested_list})
	endif()
	add_custom_command(TARGET ${T_NAME} POST_BUILD
		COMMAND ${CMAKE_COMMAND} -D BINARY=$<TARGET_FILE:${T_NAME}> -D NAME=${T_NAME}
			-D LABELS=${labels} -D TIMEOUT=${T_TIMEOUT} -D MODE=${mode}
			-D CTEST_FILE=${ctest_file} ${nested_args}
			-P ${PROJECT_SOURCE_DIR}/cmake/DiscoverTests.cmake
		BYPRODUCTS ${ctest_file}
		VERBATIM)
	file(WRITE ${include_file}
		"if(EXISTS [==[${ctest_file}]==])\n"
		"  include([==[${ctest_file}]==])\n"
		"else()\n"
		"  add_test([==[${T_NAME}_NOT_BUILT]==] [==[${T_NAME}_NOT_BUILT]==])\n"
		"endif()\n")
	set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()

# After every nopin_add_test(... NESTED): the nested.boot fixture's list,
# ${NOPIN_NESTED_OUT}/cases ("<binary path> <case>" a line), joined from
# the nested binaries' --list by the nested_cases target once they are built.
function(nopin_add_nested_cases)
	get_property(binaries GLOBAL PROPERTY NOPIN_NESTED_BINARIES)
	get_property(lists GLOBAL PROPERTY NOPIN_NESTED_LISTS)
	string(REPLACE ";" "," lists "${lists}")
	file(MAKE_DIRECTORY ${NOPIN_NESTED_OUT}/cases.d)
	add_custom_target(nested_cases ALL
		COMMAND ${CMAKE_COMMAND} -D OUT=${NOPIN_NESTED_OUT}/cases -D JOIN=${lists}
			-P ${PROJECT_SOURCE_DIR}/cmake/DiscoverTests.cmake
		BYPRODUCTS ${NOPIN_NESTED_OUT}/cases
		COMMENT "nested.boot's case list" VERBATIM)
	add_dependencies(nested_cases ${binaries})
endfunction()
