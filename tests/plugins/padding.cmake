# SPDX-License-Identifier: Apache-2.0
# The padding plugin (plugins/padding.c) and the core's pad hook: sizes on the
# wire from two endpoints in memory, and between two real gateways through a
# frame-aware capture proxy (integration, workers 0 and 2).
stp_test(test_padding SOURCES plugins/test_padding.c LABELS unit plugins TIMEOUT 600)
if(PYTHON3)
  set(pad_labels integration plugins)
  if(STP_ASAN OR STP_TSAN)
    list(APPEND pad_labels sanitize)
  endif()
  foreach(w 0 2)
    add_test(NAME plugin_padding_w${w} COMMAND ${PYTHON3}
      ${CMAKE_CURRENT_LIST_DIR}/test_padding.py
      --stpgate $<TARGET_FILE:stpgate> --workers ${w})
    set_tests_properties(plugin_padding_w${w} PROPERTIES LABELS "${pad_labels}"
      TIMEOUT 300 RESOURCE_LOCK gateway_heavy)
  endforeach()
endif()
