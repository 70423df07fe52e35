# Tests are ctest tests, one per TEST() case, so a failure names the case.
#
#   nopin_add_test(NAME <binary> SOURCES <files> LABELS <labels> [TIMEOUT s])
#
# scans the sources for TEST(name) and registers "<binary>.<name>" running
# "<binary> <name>".  TIMEOUT is a hang guard, never a performance check.
enable_testing()

function(nopin_add_test)
	cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LABELS;LIBS" ${ARGN})
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
			add_test(NAME ${T_NAME}.${tc} COMMAND ${T_NAME} ${tc})
			set_tests_properties(${T_NAME}.${tc} PROPERTIES
				LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
				SKIP_RETURN_CODE 4)
		endforeach()
	endforeach()
endfunction()
