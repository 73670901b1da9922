# Builds the plugin against packaging/compat/include (target
# dcb_compat_plugin, not part of "all") and compares it with the regular
# build against collectd-dev: it must reference exactly the same undefined
# symbols (the collectd API and libraries) and export only module_register.
#
#   cmake -DBUILD_DIR=<top build dir> -DREAL_SO=<digicert_billing.so>
#         -DCOMPAT_SO=<compat build's .so> -P check_compat_plugin.cmake
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR}
                        --target digicert_billing dcb_compat_plugin
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the plugin against the compat headers "
                      "failed:\n${out}")
endif()

function(symbols so kind result)
  execute_process(COMMAND nm -D ${kind} ${so} OUTPUT_VARIABLE out
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm ${kind} ${so} failed")
  endif()
  string(REGEX MATCHALL "[^\n]+" lines "${out}")
  set(names "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] +" "" name "${line}")
    list(APPEND names "${name}")
  endforeach()
  list(SORT names)
  set(${result} "${names}" PARENT_SCOPE)
endfunction()

symbols(${REAL_SO} --undefined-only real_undef)
symbols(${COMPAT_SO} --undefined-only compat_undef)
symbols(${COMPAT_SO} --defined-only compat_def)
if(NOT real_undef STREQUAL compat_undef)
  message(FATAL_ERROR "undefined symbols differ\n collectd-dev build: "
                      "${real_undef}\n compat build:       ${compat_undef}")
endif()
if(NOT compat_def STREQUAL "module_register")
  message(FATAL_ERROR "compat build exports ${compat_def}")
endif()
list(LENGTH real_undef n)
message(STATUS "compat build: same ${n} undefined symbols as the "
               "collectd-dev build, exports only module_register")
