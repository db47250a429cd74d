# SPDX-License-Identifier: MIT
#
# grb_add_test(NAME <name> SOURCES <files...> [LABELS <labels...>]
#              [TIMEOUT <seconds>] [ARGS <args...>] [STATIC | SHARED])
#
# Builds executable <name> from SOURCES and registers it as ctest test
# <name>. By default (and with STATIC) it links the static libgrb and
# libgrb-ctf and libgrb-ftrace; SHARED links the shared libraries instead (only the exported
# ABI is visible). Threads and libm are always linked.
# Tests see the installed headers only, as applications do. Asserts stay enabled in tests (NDEBUG is undefined).
# TIMEOUT defaults to 60 seconds.

include_guard(GLOBAL)

function(grb_add_test)
	cmake_parse_arguments(PARSE_ARGV 0 T "STATIC;SHARED" "NAME;TIMEOUT"
		"SOURCES;LABELS;ARGS")
	if(T_UNPARSED_ARGUMENTS)
		message(FATAL_ERROR "grb_add_test: unknown arguments: ${T_UNPARSED_ARGUMENTS}")
	endif()
	if(NOT T_NAME)
		message(FATAL_ERROR "grb_add_test: NAME is required")
	endif()
	if(NOT T_SOURCES)
		message(FATAL_ERROR "grb_add_test(${T_NAME}): SOURCES is required")
	endif()
	if(T_STATIC AND T_SHARED)
		message(FATAL_ERROR "grb_add_test(${T_NAME}): STATIC and SHARED are exclusive")
	endif()
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 60)
	endif()

	if(T_SHARED)
		set(_lib grb::grb_ctf grb::grb_ftrace grb::grb)
	else()
		set(_lib grb::grb_ctf_static grb::grb_ftrace_static grb::grb_static)
	endif()

	add_executable(${T_NAME} ${T_SOURCES})
	target_compile_options(${T_NAME} PRIVATE -UNDEBUG)
	target_link_libraries(${T_NAME} PRIVATE ${_lib} Threads::Threads m)

	add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
	set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT})
	if(T_LABELS)
		set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
	endif()
endfunction()

# grb_test_tools(<test>...)
#
# The tests run a script that needs a tool grb does not build (spin,
# babeltrace2, ...) and gets it with grb_need from cmake/test_tools.sh: run
# as root, the script installs the tool with apt-get; otherwise it exits 77,
# reported as skipped, and leaves a marker in <build>/test-tools/missing/
# for the report that closes `make check`.  Call it after any
# set_tests_properties(... ENVIRONMENT ...), which would replace the
# variables set here.
function(grb_test_tools)
	foreach(_t IN LISTS ARGN)
		set_property(TEST ${_t} APPEND PROPERTY ENVIRONMENT
			"GRB_TOOLS_DIR=${PROJECT_BINARY_DIR}/test-tools"
			"GRB_TEST_NAME=${_t}")
		set_tests_properties(${_t} PROPERTIES SKIP_RETURN_CODE 77)
	endforeach()
endfunction()
