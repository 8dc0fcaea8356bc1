# SPDX-License-Identifier: Apache-2.0
# The plugin interface itself, with the example plugin (plugins/example.c).
stp_test(test_plugin_api SOURCES plugins/test_plugin_api.c
  ${PROJECT_SOURCE_DIR}/plugins/example.c LABELS unit plugins)
