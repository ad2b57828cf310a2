# Included by tests/CMakeLists.txt in the native build: the fuzz targets
# (tests/fuzz, a project of its own) are configured with clang and built as
# part of this build, and each gets a short ctest run (label fuzz): 15 s per
# target, one at a time, at low priority. scripts/fuzz.sh runs them longer.
find_program(NLBCTL_FUZZ_CC NAMES clang-14 clang)
if(NOT NLBCTL_FUZZ_CC)
    message(STATUS "fuzz tests off: clang-14 not found (scripts/bootstrap.sh installs it)")
    return()
endif()

include(ExternalProject)
set(NLBCTL_FUZZ_BIN ${CMAKE_BINARY_DIR}/tests/fuzz-build)
# BUILD_ALWAYS: the sub-build does not see changes to the core's sources by
# itself; its own Ninja makes a rebuild with nothing changed a no-op.
ExternalProject_Add(fuzz_targets
    SOURCE_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz
    BINARY_DIR ${NLBCTL_FUZZ_BIN}
    CMAKE_ARGS -DCMAKE_C_COMPILER=${NLBCTL_FUZZ_CC} -DCMAKE_BUILD_TYPE=RelWithDebInfo
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON)

set(NLBCTL_FUZZ_SECONDS 15 CACHE STRING "seconds each fuzz target runs in ctest")
foreach(target wire seal config args)
    set(extra "")
    if(target STREQUAL "config")
        set(extra ${PROJECT_SOURCE_DIR}/nlbctld.example.ini)
    endif()
    add_test(NAME fuzz_${target}
             COMMAND ${PROJECT_SOURCE_DIR}/tests/fuzz/run.sh --fresh ${target}
                     ${NLBCTL_FUZZ_BIN}/fuzz_${target}
                     ${CMAKE_BINARY_DIR}/tests/fuzz-runs/${target} ${NLBCTL_FUZZ_SECONDS}
                     ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${target} ${extra})
    # RESOURCE_LOCK: never two fuzzers at once, even under ctest -j.
    set_tests_properties(fuzz_${target} PROPERTIES LABELS fuzz RESOURCE_LOCK fuzz
                         TIMEOUT 120)
endforeach()
