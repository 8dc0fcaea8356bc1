# SPDX-License-Identifier: Apache-2.0
# The plugins' tests (plugins/): one file per plugin, plus the interface's own.
include(${CMAKE_CURRENT_LIST_DIR}/api.cmake OPTIONAL)
include(${CMAKE_CURRENT_LIST_DIR}/pow.cmake OPTIONAL)
include(${CMAKE_CURRENT_LIST_DIR}/socks5.cmake OPTIONAL)
include(${CMAKE_CURRENT_LIST_DIR}/padding.cmake OPTIONAL)
