# SPDX-License-Identifier: Apache-2.0
# run_fuzz.cmake: one bounded libFuzzer run for ctest (tests/fuzz/CMakeLists.txt).
#
#   cmake -DFUZZER=exe -DCORPUS=dir -DWORK=dir -DSECONDS=n [-DDICT=file] -P run_fuzz.cmake
#
# The committed corpus is copied to WORK/corpus first, so new inputs land
# there and never in the source tree.  A crash, leak, timeout or failed
# invariant makes libFuzzer exit non-zero: this script then fails, naming the
# reproducer it left in WORK/artifacts/.
foreach(v FUZZER CORPUS WORK SECONDS)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "run_fuzz.cmake: -D${v}= is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK}/corpus ${WORK}/artifacts)
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(GLOB seeds LIST_DIRECTORIES false ${CORPUS}/*)
if(NOT seeds)
  message(FATAL_ERROR "run_fuzz.cmake: no seed files in ${CORPUS}")
endif()
file(COPY ${seeds} DESTINATION ${WORK}/corpus)

set(args -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
  -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/)
if(DEFINED DICT AND NOT "${DICT}" STREQUAL "")
  list(APPEND args -dict=${DICT})
endif()
message(STATUS "${FUZZER} ${args} ${WORK}/corpus")
execute_process(COMMAND ${FUZZER} ${args} ${WORK}/corpus
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/artifacts/*)
  message(FATAL_ERROR "fuzzer failed (exit ${rc}); reproducer: ${found}\n"
    "replay it with: ${FUZZER} <file>")
endif()
