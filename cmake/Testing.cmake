# Tests are ctest tests, one per TEST() case, so a failure names the case.
#
#   nopin_add_test(NAME <binary> SOURCES <files> LABELS <labels> [TIMEOUT s]
#                  [NESTED | NESTED_ONLY])
#
# scans the sources for TEST(name) and registers "<binary>.<name>" running
# "<binary> <name>".  TIMEOUT is a hang guard, never a performance check.
# NESTED registers each case a second time on the kvm backend (label
# nested, see nopin_add_nested_case); NESTED_ONLY registers only that.
enable_testing()

function(nopin_add_test)
	cmake_parse_arguments(T "NESTED;NESTED_ONLY" "NAME;TIMEOUT" "SOURCES;LABELS;LIBS" ${ARGN})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 600)
	endif()
	add_executable(${T_NAME} ${T_SOURCES})
	target_link_libraries(${T_NAME} PRIVATE nopin_test nopin ${T_LIBS})
	foreach(src ${T_SOURCES})
		get_filename_component(path ${src} ABSOLUTE)
		set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
		file(STRINGS ${path} lines REGEX "^TEST\\([A-Za-z0-9_]+\\)")
		foreach(line ${lines})
			string(REGEX REPLACE "^TEST\\(([A-Za-z0-9_]+)\\).*" "\\1" tc "${line}")
			if(NOT T_NESTED_ONLY)
				add_test(NAME ${T_NAME}.${tc} COMMAND ${T_NAME} ${tc})
				set_tests_properties(${T_NAME}.${tc} PROPERTIES
					LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
					SKIP_RETURN_CODE 4)
			endif()
			if(T_NESTED OR T_NESTED_ONLY)
				nopin_add_nested_case(${T_NAME} ${tc})
			endif()
		endforeach()
	endforeach()
endfunction()

# The kvm backend's half of "one test list, two backends" (tests/nested):
# nested.<binary>.<case> runs the case with NOPIN_TEST_BACKEND=kvm, on this
# machine's /dev/kvm when it has one, else reads the result the case gave
# inside the QEMU VM that the nested.boot fixture ran.
set(NOPIN_NESTED_OUT ${CMAKE_BINARY_DIR}/tests/nested)
function(nopin_add_nested_case binary tc)
	add_test(NAME nested.${binary}.${tc}
		 COMMAND ${PROJECT_SOURCE_DIR}/tests/nested/nested-case ${NOPIN_NESTED_OUT}
			 $<TARGET_FILE:${binary}> ${tc})
	set_tests_properties(nested.${binary}.${tc} PROPERTIES
		LABELS nested TIMEOUT 900 SKIP_RETURN_CODE 4 FIXTURES_REQUIRED nested_vm)
	set_property(GLOBAL APPEND PROPERTY NOPIN_NESTED_CASES "$<TARGET_FILE:${binary}> ${tc}")
endfunction()
