# install.cmake - what `cmake --install` puts where (GNUInstallDirs), and
# the --version helper every program links (included at the end of the
# top-level CMakeLists.txt, once every target exists).
#
#   bin/          dtcd dtcctl dtc-bench dtc-load dtc-noop dtc-exporter and
#                 the services
#   include/dtc/  dtc.h
#   LIBDIR/       libdtc.so.MAJOR (+ .so link), libdtc.a
#   LIBDIR/pkgconfig/dtc.pc             pkg-config dtc (--static: uuid,
#                                       pthread, rt)
#   LIBDIR/cmake/dtc/dtcConfig*.cmake   find_package(dtc): dtc::dtc
#   DTC_PYTHON_DIR/dtc/                 the Python package (bindings/python),
#                                       where Debian's python3 finds it
#   MANDIR/man{1,3,8}/                  the manual pages (man/)
#   DATADIR/bash-completion/completions/dtcctl
#   UNITDIR/                            dtcd@.service, dtc@.target,
#                                       dtc-inventory@.service, ...,
#                                       dtc-exporter@.service (below)
#   SYSUSERSDIR/dtc.conf                the system user dtc
#   SYSCONFDIR/dtc/default.conf         the instance "default"'s options
include(CMakePackageConfigHelpers)

set(DTC_PROGRAMS dtcd dtcctl dtc-bench dtc-load dtc-noop
    dtc-inventory dtc-payment dtc-order dtc-shipping dtc-pg dtc-exporter)

# --version, --log-level and checked option values (src/common/): one
# helper each for every program.
add_library(dtc_version_opt STATIC ${PROJECT_SOURCE_DIR}/src/common/version_opt.c
                                   ${PROJECT_SOURCE_DIR}/src/common/cli_opt.c)
target_include_directories(dtc_version_opt PUBLIC ${PROJECT_SOURCE_DIR}/src/common)
target_link_libraries(dtc_version_opt PUBLIC dtc)
# dtcsvc: the services' framework (participants/svc/svc_opts.c parses their
# options); dtcpart: the options every participant program takes.
target_link_libraries(dtcsvc PUBLIC dtc_version_opt)
target_link_libraries(dtcpart PUBLIC dtc_version_opt)
foreach(prog ${DTC_PROGRAMS})
  if(TARGET ${prog})
    target_link_libraries(${prog} PRIVATE dtc_version_opt)
    install(TARGETS ${prog} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dtc
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS dtc_shared EXPORT dtcTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS dtc ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# dtc.pc: relocatable (prefix from ${pcfiledir}), since the prefix may be
# given only at install time (cmake --install build --prefix DIR).
file(RELATIVE_PATH DTC_PC_TO_PREFIX
     "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" DTC_PC_TO_PREFIX "${DTC_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/dtc.pc.in
               ${PROJECT_BINARY_DIR}/dtc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dtc.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(DTC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dtc)
install(EXPORT dtcTargets NAMESPACE dtc:: DESTINATION ${DTC_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dtcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dtcConfig.cmake INSTALL_DESTINATION ${DTC_CMAKE_DIR})
# Before 1.0 a minor release may change the API: same minor required.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dtcConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dtcConfig.cmake
              ${PROJECT_BINARY_DIR}/dtcConfigVersion.cmake
        DESTINATION ${DTC_CMAKE_DIR})

# The Python package goes where Debian's python3 looks for the prefix:
# /usr/lib/python3/dist-packages for /usr, PREFIX/lib/python3.X/dist-packages
# for /usr/local (python3 does not search /usr/local/lib/python3/...).
# Another prefix needs PYTHONPATH; pip installs it elsewhere too
# (bindings/python/pyproject.toml).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(dtc_python_dir lib/python3/dist-packages)
else()
  find_program(DTC_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
  set(dtc_python_dir lib/python3/dist-packages)
  if(DTC_SYSTEM_PYTHON3)
    execute_process(COMMAND ${DTC_SYSTEM_PYTHON3} -c
                    "import sys; print('%d.%d' % sys.version_info[:2])"
                    OUTPUT_VARIABLE dtc_py_version OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(dtc_python_dir lib/python${dtc_py_version}/dist-packages)
  endif()
endif()
if(NOT DTC_PYTHON_DIR) # -DDTC_PYTHON_DIR=DIR (relative to the prefix) overrides
  set(DTC_PYTHON_DIR ${dtc_python_dir})
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/python/dtc
        DESTINATION ${DTC_PYTHON_DIR}
        FILES_MATCHING PATTERN "*.py" PATTERN "py.typed")

# Manual pages (man/, checked by the man_pages test); each service's name
# is a link to dtc-services(8).
foreach(page dtcd.8 dtc-services.8 dtc-pg.8 dtc-exporter.8 dtcctl.1 dtc-bench.1 dtc-load.1
             dtc-noop.1
             libdtc.3)
  string(REGEX REPLACE ".*\\." "" section ${page})
  install(FILES ${PROJECT_SOURCE_DIR}/man/${page}
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
foreach(service ${DTC_SERVICES})
  file(WRITE ${PROJECT_BINARY_DIR}/man/dtc-${service}.8 ".so man8/dtc-services.8\n")
  install(FILES ${PROJECT_BINARY_DIR}/man/dtc-${service}.8
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/completion/dtcctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# systemd (systemd/): the units, the user dtc (sysusers.d) and the
# instance configuration (SYSCONFDIR/dtc/default.conf).  Units and
# sysusers.d go where systemd looks: its own directories (pkg-config
# systemd: systemdsystemunitdir, sysusersdir) when the prefix is /usr, else
# lib/systemd/system and lib/sysusers.d under the prefix (systemd reads
# /usr/local/lib/systemd/system).  @DTC_BINDIR@ and @DTC_CONFDIR@ are
# filled at install time (cmake --install --prefix); the service template
# makes one unit per example service (dtc-inventory@.service, ...).
pkg_get_variable(DTC_PC_UNITDIR systemd systemdsystemunitdir)
pkg_get_variable(DTC_PC_SYSUSERSDIR systemd sysusersdir)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND DTC_PC_UNITDIR AND DTC_PC_SYSUSERSDIR)
  set(dtc_unitdir ${DTC_PC_UNITDIR})
  set(dtc_sysusersdir ${DTC_PC_SYSUSERSDIR})
else()
  set(dtc_unitdir lib/systemd/system)
  set(dtc_sysusersdir lib/sysusers.d)
endif()
set(DTC_SYSTEMD_UNITDIR ${dtc_unitdir} CACHE STRING
    "systemd unit directory (relative: under the install prefix)")
set(DTC_SYSUSERSDIR ${dtc_sysusersdir} CACHE STRING
    "sysusers.d directory (relative: under the install prefix)")
set(DTC_CONF_DEST ${CMAKE_INSTALL_SYSCONFDIR}/dtc)

install(CODE "
  set(DTC_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(DTC_CONFDIR \"${DTC_CONF_DEST}\")
  if(NOT IS_ABSOLUTE \"\${DTC_CONFDIR}\")
    set(DTC_CONFDIR \"\${CMAKE_INSTALL_PREFIX}/\${DTC_CONFDIR}\")
  endif()")
file(GLOB dtc_unit_sources RELATIVE ${PROJECT_SOURCE_DIR}/systemd
     ${PROJECT_SOURCE_DIR}/systemd/*.service.in ${PROJECT_SOURCE_DIR}/systemd/*.target)
foreach(src ${dtc_unit_sources})
  string(REGEX REPLACE "\\.in$" "" unit ${src})
  set(services "-")
  if(unit STREQUAL "dtc-service@.service")
    set(services ${DTC_SERVICES})
  endif()
  foreach(service ${services})
    set(out ${unit})
    set(code "")
    if(NOT service STREQUAL "-")
      set(out "dtc-${service}@.service")
      string(TOUPPER "${service}_OPTIONS" var)
      set(code "set(DTC_SERVICE ${service})\n  set(DTC_SERVICE_VAR ${var})")
    endif()
    install(CODE "
  ${code}
  configure_file(\"${PROJECT_SOURCE_DIR}/systemd/${src}\"
                 \"${PROJECT_BINARY_DIR}/systemd/${out}\" @ONLY)")
    install(FILES ${PROJECT_BINARY_DIR}/systemd/${out} DESTINATION ${DTC_SYSTEMD_UNITDIR})
  endforeach()
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/systemd/dtc.sysusers
        DESTINATION ${DTC_SYSUSERSDIR} RENAME dtc.conf)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/instance.conf
        DESTINATION ${DTC_CONF_DEST} RENAME default.conf)
