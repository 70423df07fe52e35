# format-check: fails if any C file differs from .clang-format (CI runs it);
# format: rewrites them in place.
find_program(CLANG_FORMAT NAMES clang-format clang-format-14)
file(GLOB_RECURSE NOPIN_C_FILES CONFIGURE_DEPENDS
	${PROJECT_SOURCE_DIR}/base/*.[ch] ${PROJECT_SOURCE_DIR}/mm/*.[ch]
	${PROJECT_SOURCE_DIR}/notifier/*.[ch] ${PROJECT_SOURCE_DIR}/mmu/*.[ch]
	${PROJECT_SOURCE_DIR}/vmm/*.[ch] ${PROJECT_SOURCE_DIR}/guest/*.[ch]
	${PROJECT_SOURCE_DIR}/tests/*.[ch] ${PROJECT_SOURCE_DIR}/bench/*.[ch])
if(CLANG_FORMAT)
	add_custom_target(format-check
		COMMAND ${CLANG_FORMAT} --dry-run -Werror ${NOPIN_C_FILES}
		WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
		COMMENT "clang-format --dry-run over the tree")
	add_custom_target(format
		COMMAND ${CLANG_FORMAT} -i ${NOPIN_C_FILES}
		WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
else()
	add_custom_target(format-check
		COMMAND ${CMAKE_COMMAND} -E echo "clang-format not found: apt-get install -y clang-format"
		COMMAND false)
endif()
