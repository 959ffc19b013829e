# ScriptTests.cmake — how a script under tests/<dir>/ becomes a ctest test (also used by the
# meta test tests/integration/suite_gate.sh on a throwaway project, so what it proves is this
# very code).
#
# A test script is tests/<dir>/<name>.sh carrying, among its first lines:
#   # label: <label>[;<label>...]   required: local | mount | network | hostile | rw | ...
#   # timeout: <seconds>            its time budget on the plain build on a quiet machine: about
#                                   10x its usual time, at least the default 180; scaled by
#                                   SCALE in the sanitizer build and by the load (see below)
#   # sanitizer: no (<why>)         not registered in the sanitizer build (the test does not apply
#                                   there, e.g. valgrind of an ASan binary), so that "skipped"
#                                   always means "something expected did not run"
# A .sh without a label line is a configure error, except lib.sh and *_lib.sh (helpers), so a
# forgotten label cannot silently drop a test from the suite.
#
# Each test runs as: testwrap --timeout <budget*SCALE> --load-scale <LOAD_SCALE> --grace 30
# -- bash <script> (with --sanitizer-logs in the sanitizer build: a sanitizer report from any
# process fails the test), with SKIP_RETURN_CODE 77 (lib.sh's skip). testwrap stretches the
# budget by the machine's load (load average per CPU, up to LOAD_SCALE) and SIGTERMs the test
# when it runs out, so its cleanup runs; ctest's TIMEOUT (a SIGKILL) comes 75 s after the most
# testwrap can allow.
#
# embassy_add_script_tests(<dir> WRAPPER <testwrap path> [SCALE <n>] [LOAD_SCALE <n>]
#                          [SANITIZED <bool>] [ENV <VAR=VALUE>...])
set(EMBASSY_TEST_GRACE 30)
set(EMBASSY_TEST_DEFAULT_TIMEOUT 180)

function(embassy_add_script_tests dir)
  cmake_parse_arguments(A "" "WRAPPER;SCALE;LOAD_SCALE;SANITIZED" "ENV" ${ARGN})
  if(NOT A_SCALE)
    set(A_SCALE 1)
  endif()
  if(NOT A_LOAD_SCALE)
    set(A_LOAD_SCALE 1)
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
    math(EXPR ctest_timeout "${wrap_timeout} * ${A_LOAD_SCALE} + ${EMBASSY_TEST_GRACE} + 45")
    add_test(NAME ${group}/${name}
      COMMAND ${A_WRAPPER} --timeout ${wrap_timeout} --load-scale ${A_LOAD_SCALE}
        --grace ${EMBASSY_TEST_GRACE} ${wrap_flags} -- bash ${script})
    set_tests_properties(${group}/${name} PROPERTIES LABELS "${lbl}" TIMEOUT ${ctest_timeout}
      SKIP_RETURN_CODE 77 ENVIRONMENT "${A_ENV}")
  endforeach()
endfunction()
