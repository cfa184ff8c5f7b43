# Helpers shared by every subdirectory.
#
# fastrel_test(NAME SOURCES... LIBS ...)
#   Builds a GoogleTest binary NAME from SOURCES linked with LIBS and
#   fastrel_test_main (tests/support/test_main.cc: a private TEST_TMPDIR per
#   process, so parallel ctest runs never share temp files), and registers
#   each test case with CTest. Tests see FASTREL_SOURCE_DIR and
#   FASTREL_SHARED_DIR as compile definitions (absolute paths) so they can find
#   the bundled model and the golden files without depending on the cwd.
function(fastrel_test name)
  if(NOT FASTREL_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} fastrel_test_main)
  target_compile_definitions(${name} PRIVATE
    FASTREL_SOURCE_DIR="${FASTREL_SOURCE_DIR}"
    FASTREL_SHARED_DIR="${FASTREL_SHARED_DIR}"
    FASTREL_BINARY_DIR="${CMAKE_BINARY_DIR}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()

# fastrel_simd_sources(TARGET FLAGS SOURCES...)
#   Compiles the given sources of TARGET with extra ISA flags (AVX2, AVX-512).
#   Only kernel translation units reached through CPUID dispatch may use this.
function(fastrel_simd_sources target)
  cmake_parse_arguments(ARG "" "" "FLAGS;SOURCES" ${ARGN})
  target_sources(${target} PRIVATE ${ARG_SOURCES})
  set_source_files_properties(${ARG_SOURCES} TARGET_DIRECTORY ${target}
    PROPERTIES COMPILE_OPTIONS "${ARG_FLAGS}")
endfunction()
