# SPDX-License-Identifier: Apache-2.0
# The pow plugin (plugins/pow.c): unit cases, a gateway with pow on dialed by
# another (integration, workers 0 and 2), and the flood bench with its
# over-the-wire refusals (bench/tools/bench_pow_flood.c, when STP_BENCH).
stp_test(test_pow SOURCES plugins/test_pow.c LABELS unit plugins TIMEOUT 300)

if(PYTHON3)
  set(pow_labels integration plugins)
  if(STP_ASAN OR STP_TSAN)
    list(APPEND pow_labels sanitize)
  endif()
  foreach(w 0 2)
    add_test(NAME plugin_pow_w${w} COMMAND ${PYTHON3}
      ${CMAKE_CURRENT_SOURCE_DIR}/plugins/test_pow.py
      --stpgate $<TARGET_FILE:stpgate> --workers ${w})
    set_tests_properties(plugin_pow_w${w} PROPERTIES LABELS "${pow_labels}"
      TIMEOUT 300)
  endforeach()
endif()

if(STP_BENCH)
  add_executable(bench_pow_flood ${PROJECT_SOURCE_DIR}/bench/tools/bench_pow_flood.c)
  target_link_libraries(bench_pow_flood PRIVATE stpcore stp_rand)
  if(PYTHON3)
    # The flood against a real gateway and the refusals over the wire; it
    # prints the CPU figures but asserts no timing.
    add_test(NAME plugin_pow_flood COMMAND ${PYTHON3}
      ${CMAKE_CURRENT_SOURCE_DIR}/plugins/test_pow_flood.py
      --stpgate $<TARGET_FILE:stpgate> --tool $<TARGET_FILE:bench_pow_flood>)
    set_tests_properties(plugin_pow_flood PROPERTIES LABELS "${pow_labels}"
      TIMEOUT 600 RESOURCE_LOCK gateway_heavy)
  endif()
endif()
