# SPDX-License-Identifier: Apache-2.0
# The socks5 dialer plugin (plugins/socks5.c): its pure part and the plugin on
# loopback sockets (unit), and sessions through a real SOCKS5 server,
# microsocks from Debian (integration; skipped, exit 77, when it is missing).
stp_test(test_socks5_unit SOURCES plugins/test_socks5_unit.c LABELS unit plugins)
target_include_directories(test_socks5_unit PRIVATE ${PROJECT_SOURCE_DIR}/plugins)
if(PYTHON3)
  set(socks5_labels integration plugins)
  if(STP_ASAN OR STP_TSAN)
    list(APPEND socks5_labels sanitize)
  endif()
  foreach(w 0 2)
    add_test(NAME plugin_socks5_w${w} COMMAND ${PYTHON3}
      ${CMAKE_CURRENT_SOURCE_DIR}/plugins/test_socks5.py
      --stpgate $<TARGET_FILE:stpgate> --workers ${w})
    set_tests_properties(plugin_socks5_w${w} PROPERTIES LABELS "${socks5_labels}"
      TIMEOUT 300 SKIP_RETURN_CODE 77)
  endforeach()
endif()
