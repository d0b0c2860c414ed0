# install.cmake - what `cmake --install` puts where (GNUInstallDirs), and
# the --version helper every program links (included at the end of the
# top-level CMakeLists.txt, once every target exists).
#
#   bin/          dtcd dtcctl dtc-bench dtc-load dtc-noop and the services
#   include/dtc/  dtc.h
#   LIBDIR/       libdtc.so.MAJOR (+ .so link), libdtc.a
#   LIBDIR/pkgconfig/dtc.pc             pkg-config dtc (--static: uuid,
#                                       pthread, rt)
#   LIBDIR/cmake/dtc/dtcConfig*.cmake   find_package(dtc): dtc::dtc
#   lib/python3/dist-packages/dtc/      the Python package (bindings/python)
#   MANDIR/man{1,3,8}/                  the manual pages (man/)
#   DATADIR/bash-completion/completions/dtcctl
#   LIBDIR/systemd/system/              dtcd@.service, dtc-service@.service
include(CMakePackageConfigHelpers)

set(DTC_PROGRAMS dtcd dtcctl dtc-bench dtc-load dtc-noop
    dtc-inventory dtc-payment dtc-order dtc-shipping dtc-pg)

# --version, --log-level and checked option values (src/common/): one
# helper each for every program.
add_library(dtc_version_opt STATIC ${PROJECT_SOURCE_DIR}/src/common/version_opt.c
                                   ${PROJECT_SOURCE_DIR}/src/common/cli_opt.c)
target_include_directories(dtc_version_opt PUBLIC ${PROJECT_SOURCE_DIR}/src/common)
target_link_libraries(dtc_version_opt PUBLIC dtc)
# dtcsvc: the services' framework (participants/svc.c parses their options).
target_link_libraries(dtcsvc PUBLIC dtc_version_opt)
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

install(DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/python/dtc
        DESTINATION lib/python3/dist-packages
        FILES_MATCHING PATTERN "*.py")

# Manual pages (man/, checked by the man_pages test); each service's name
# is a link to dtc-services(8).
foreach(page dtcd.8 dtc-services.8 dtc-pg.8 dtcctl.1 dtc-bench.1 dtc-load.1 libdtc.3)
  string(REGEX REPLACE ".*\\." "" section ${page})
  install(FILES ${PROJECT_SOURCE_DIR}/man/${page}
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
foreach(service inventory payment order shipping)
  file(WRITE ${PROJECT_BINARY_DIR}/man/dtc-${service}.8 ".so man8/dtc-services.8\n")
  install(FILES ${PROJECT_BINARY_DIR}/man/dtc-${service}.8
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/completion/dtcctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# systemd units (systemd/*.service.in): ExecStart= in this install's bin,
# so @DTC_BINDIR@ is filled at install time (cmake --install --prefix).
foreach(unit dtcd@.service dtc-service@.service)
  install(CODE "
    set(DTC_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    configure_file(\"${PROJECT_SOURCE_DIR}/systemd/${unit}.in\"
                   \"${PROJECT_BINARY_DIR}/systemd/${unit}\" @ONLY)")
  install(FILES ${PROJECT_BINARY_DIR}/systemd/${unit}
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/systemd/system)
endforeach()
