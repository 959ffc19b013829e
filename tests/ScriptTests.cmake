# ScriptTests.cmake — how a script under tests/<dir>/ becomes a ctest test (also used by the
# meta test tests/integration/suite_gate.sh on a throwaway project, so what it proves is this
# very code).
#
# A test script is tests/<dir>/<name>.sh carrying, among its first lines:
#   # label: <label>[;<label>...]   required: local | mount | network | hostile | rw | ...
#   # timeout: <seconds>            its time budget on the plain build on a loaded 2-core machine
#                                   (default 180); scaled by SCALE in the sanitizer build
#   # sanitizer: no (<why>)         not registered in the sanitizer build (the test does not apply
#                                   there, e.g. valgrind of an ASan binary), so that "skipped"
#                                   always means "something expected did not run"
# A .sh without a label line is a configure error, except lib.sh and *_lib.sh (helpers), so a
# forgotten label cannot silently drop a test from the suite.
#
# Each test runs as: testwrap --timeout <budget*scale> --grace 30 -- bash <script> (with
# --sanitizer-logs in the sanitizer build: a sanitizer report from any process fails it), with
# SKIP_RETURN_CODE 77 (lib.sh's skip) and a ctest TIMEOUT 45 s later than testwrap's own, so
# testwrap's SIGTERM (which lets the script's cleanup run) always comes first.
#
# embassy_add_script_tests(<dir> WRAPPER <testwrap path> [SCALE <n>] [SANITIZED <bool>]
#                          [ENV <VAR=VALUE>...])
set(EMBASSY_TEST_GRACE 30)
set(EMBASSY_TEST_DEFAULT_TIMEOUT 180)

function(embassy_add_script_tests dir)
  cmake_parse_arguments(A "" "WRAPPER;SCALE;SANITIZED" "ENV" ${ARGN})
  if(NOT A_SCALE)
    set(A_SCALE 1)
  endif()
  get_filename_component(group ${dir} NAME)
  file(GLOB scripts CONFIGURE_DEPENDS ${dir}/*.sh)
  foreach(script ${scripts})
    get_filename_component(name ${script} NAME_WE)
    get_filename_component(file ${script} NAME)
    file(STRINGS ${script} head LIMIT_COUNT 12)
    set(lbl "")
    set(budget ${EMBASSY_TEST_DEFAULT_TIMEOUT})
    set(not_sanitized FALSE)
    foreach(line IN LISTS head)
      if(line MATCHES "^# label: *(.+)$")
        string(STRIP "${CMAKE_MATCH_1}" lbl)
      elseif(line MATCHES "^# timeout: *([0-9]+) *$")
        set(budget ${CMAKE_MATCH_1})
      elseif(line MATCHES "^# sanitizer: *no")
        set(not_sanitized TRUE)
      endif()
    endforeach()
    if(NOT lbl)
      if(file STREQUAL "lib.sh" OR file MATCHES "_lib\\.sh$")
        continue()
      endif()
      message(FATAL_ERROR "${script}: no '# label: ...' line among its first lines: every "
                          "tests/<dir>/*.sh is a test (helpers are named lib.sh or *_lib.sh)")
    endif()
    if(not_sanitized AND A_SANITIZED)
      continue()
    endif()
    set(wrap_flags "")
    if(A_SANITIZED)
      set(wrap_flags --sanitizer-logs) # reports of daemons too (their stderr is /dev/null)
    endif()
    math(EXPR wrap_timeout "${budget} * ${A_SCALE}")
    math(EXPR ctest_timeout "${wrap_timeout} + ${EMBASSY_TEST_GRACE} + 45")
    add_test(NAME ${group}/${name}
      COMMAND ${A_WRAPPER} --timeout ${wrap_timeout} --grace ${EMBASSY_TEST_GRACE} ${wrap_flags}
        -- bash ${script})
    set_tests_properties(${group}/${name} PROPERTIES LABELS "${lbl}" TIMEOUT ${ctest_timeout}
      SKIP_RETURN_CODE 77 ENVIRONMENT "${A_ENV}")
  endforeach()
endfunction()
