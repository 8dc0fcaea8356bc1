# SPDX-License-Identifier: Apache-2.0
# Hardening runs (issue 7), included by tests/CMakeLists.txt:
#   faults       two gateways in network namespaces of their own, a lossy,
#                slow, reordering and then cut link (root; skipped, exit 77,
#                without it); resume: streams resumed across a cut and an
#                address change, and ended past the window (root, ssh, sshd)
#   integration  tamper (a proxy that flips, replays, drops, truncates),
#                flood (handshake floods and slowloris, with the flood tool
#                below), silent (what a prober without the key sees; the
#                memory half-open connections cost), valgrind (memcheck on
#                both gateways)
#   scale        10,000 tunneled connections at once; the limits
#   nofile       (integration) the open-files limit: raised at start, the
#                limits fitted to it, accept failures at it
# Under ASan/TSan only tamper and flood are registered: the others are too
# slow there (valgrind cannot run a sanitized binary at all).
set(STP_HARDENING_DIR ${CMAKE_CURRENT_SOURCE_DIR}/hardening)

# The flood tool drives the library's endpoint over sockets.
add_executable(stp_flood ${STP_HARDENING_DIR}/flood.c)
target_link_libraries(stp_flood PRIVATE stpcore stp_rand)

if(PYTHON3)
  set(hard_labels integration)
  if(STP_ASAN OR STP_TSAN)
    list(APPEND hard_labels sanitize)
  endif()

  foreach(mode bitflip replay drop truncate)
    foreach(w 0 2)
      add_test(NAME hard_tamper_${mode}_w${w} COMMAND ${PYTHON3}
        ${STP_HARDENING_DIR}/test_tamper.py ${mode}
        --stpgate $<TARGET_FILE:stpgate> --workers ${w})
      set_tests_properties(hard_tamper_${mode}_w${w} PROPERTIES
        LABELS "${hard_labels}" TIMEOUT 180)
    endforeach()
  endforeach()

  add_test(NAME hard_flood COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_flood.py
    --stpgate $<TARGET_FILE:stpgate> --flood $<TARGET_FILE:stp_flood> --workers 2)
  set_tests_properties(hard_flood PROPERTIES LABELS "${hard_labels}" TIMEOUT 300
    RESOURCE_LOCK gateway_heavy)

  # What the listener shows before mac1, from outside (any build), and what
  # 10,000 half-open connections cost (resident memory: not under a
  # sanitizer, whose allocator pads every block).
  add_test(NAME hard_silent_probes COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_silent.py
    probes --stpgate $<TARGET_FILE:stpgate> --workers 2)
  set_tests_properties(hard_silent_probes PROPERTIES LABELS "${hard_labels}" TIMEOUT 120)

  # HELLOs that pass mac1: replayed, stale, STP v1, the cookie round under
  # load, the access secret (proto/STP.md, "Freshness"), from outside.
  add_test(NAME hard_freshness COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_freshness.py
    --stpgate $<TARGET_FILE:stpgate> --workers 2)
  set_tests_properties(hard_freshness PROPERTIES LABELS "${hard_labels}" TIMEOUT 120)

  if(NOT STP_ASAN AND NOT STP_TSAN)
    add_test(NAME hard_silent_halfopen COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_silent.py
      halfopen --stpgate $<TARGET_FILE:stpgate> --workers 2)
    set_tests_properties(hard_silent_halfopen PROPERTIES LABELS "integration" TIMEOUT 300
      SKIP_RETURN_CODE 77 RESOURCE_LOCK gateway_heavy)

    add_test(NAME hard_faults COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_faults.py
      --stpgate $<TARGET_FILE:stpgate> --workers 2)
    set_tests_properties(hard_faults PROPERTIES LABELS "faults" TIMEOUT 300
      SKIP_RETURN_CODE 77 RESOURCE_LOCK gateway_heavy)

    # UDP forwards over 5% loss and 20 ms delay: 30 dig queries through
    # dnsmasq all right, bursts through an echo flow intact.  Not one of
    # the gateway_heavy entries: its checks count every datagram (drops
    # included), so load beside it changes no result, and the lock's chain
    # is the suite's longest.
    add_test(NAME hard_udp_loss COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_udp_loss.py
      --stpgate $<TARGET_FILE:stpgate> --workers 2)
    set_tests_properties(hard_udp_loss PROPERTIES LABELS "faults" TIMEOUT 300
      SKIP_RETURN_CODE 77)

    # test_fair.py's 8 bulk streams and an interactive one, over an emulated
    # 100 Mbit/s, 50 ms link: a paced session, where streams read in turns
    # and the connection holds bulk around BBR's RTT probe (conn_pace.c).
    add_test(NAME hard_fairlink COMMAND ${PYTHON3}
      ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_fair.py --link
      --stpgate $<TARGET_FILE:stpgate> --workers 2)
    set_tests_properties(hard_fairlink PROPERTIES LABELS "faults" TIMEOUT 300
      SKIP_RETURN_CODE 77)

    # Stream resumption (timeouts.resume_window): an ssh session (sshd in
    # bob's namespace) and a 64 MiB download across a 5 s cut, then across
    # a change of the dialer's source address, all intact, both logs
    # `session resumed:`; then an 8 s cut past a 2 s window: `session not
    # resumed within 2 s:`, the apps' connections end.  About 35 s.  One of
    # the gateway_heavy entries: it times dead_after (2 s) and the window
    # (2 s), and pushes 100 Mbit/s through the Python link emulator, so a
    # CPU-heavy neighbour could fail it.
    add_test(NAME hard_resume COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_resume.py
      --stpgate $<TARGET_FILE:stpgate> --workers 2)
    set_tests_properties(hard_resume PROPERTIES LABELS "faults" TIMEOUT 240
      SKIP_RETURN_CODE 77 RESOURCE_LOCK gateway_heavy)

    # RLIMIT_NOFILE (issue 15): the soft limit raised at start; under a
    # limit of 40, limits.max_connections lowered with a warning, and a
    # burst of app connections each served or closed at once, accept
    # failures (EMFILE) logged and counted, no spinning.
    add_test(NAME hard_nofile COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_nofile.py
      --stpgate $<TARGET_FILE:stpgate> --workers 2)
    set_tests_properties(hard_nofile PROPERTIES LABELS "integration" TIMEOUT 300
      SKIP_RETURN_CODE 77 RESOURCE_LOCK gateway_heavy)

    add_test(NAME hard_scale COMMAND ${PYTHON3} ${STP_HARDENING_DIR}/test_scale.py
      --stpgate $<TARGET_FILE:stpgate> --workers 2)
    set_tests_properties(hard_scale PROPERTIES LABELS "scale" TIMEOUT 300
      SKIP_RETURN_CODE 77 RESOURCE_LOCK gateway_heavy)

    find_program(VALGRIND valgrind)
    if(VALGRIND)
      foreach(w 0 2)
        add_test(NAME hard_valgrind_w${w} COMMAND ${PYTHON3}
          ${STP_HARDENING_DIR}/test_valgrind.py --stpgate $<TARGET_FILE:stpgate>
          --valgrind ${VALGRIND} --workers ${w})
        set_tests_properties(hard_valgrind_w${w} PROPERTIES LABELS "integration"
          TIMEOUT 300 SKIP_RETURN_CODE 77 RESOURCE_LOCK gateway_heavy)
      endforeach()
    endif()
  endif()
endif()
