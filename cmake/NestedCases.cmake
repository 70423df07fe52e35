# cmake -P script, the nested_cases target's (cmake/Testing.cmake): join the
# per-binary lists cmake/DiscoverTests.cmake wrote from each nested test
# binary's --list into OUT, the list the nested.boot fixture runs
# (tests/nested/nested-vm), in the order the binaries were registered.
#
#   -D OUT=<file> -D LISTS=<file,file...>
string(REPLACE "," ";" lists "${LISTS}")
set(content "")
foreach(list IN LISTS lists)
	if(NOT EXISTS ${list})
		message(FATAL_ERROR "${list} is missing: its test binary was not built")
	endif()
	file(READ ${list} part)
	string(APPEND content "${part}")
endforeach()
if(EXISTS ${OUT})
	file(READ ${OUT} old)
	if(old STREQUAL content)
		return()
	endif()
endif()
file(WRITE ${OUT} "${content}")
