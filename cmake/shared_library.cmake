# shared_library.cmake - libdtc.so.MAJOR next to libdtc.a (included right
# after add_library(dtc STATIC ...)).
#
# Both are built from the same objects: position-independent and compiled
# with hidden visibility, so the .so exports exactly what include/dtc/dtc.h
# declares (its `#pragma GCC visibility push(default)`), and nothing of the
# internal dtc__ functions.  Tests and tools that call dtc__ functions link
# the static library (target dtc); outside users link the shared one
# (target dtc_shared, dtc::dtc in the build tree and once installed).

# include/dtc/dtc.h's DTC_VERSION_* must equal project(VERSION).
file(STRINGS ${PROJECT_SOURCE_DIR}/include/dtc/dtc.h dtc_version_lines
     REGEX "^#define DTC_VERSION_(MAJOR|MINOR|PATCH|STRING) ")
foreach(part MAJOR MINOR PATCH STRING)
  set(want ${PROJECT_VERSION_${part}})
  if(part STREQUAL "STRING")
    set(want "\"${PROJECT_VERSION}\"")
  endif()
  if(NOT "${dtc_version_lines}" MATCHES "#define DTC_VERSION_${part} ${want}(;|$)")
    message(FATAL_ERROR "include/dtc/dtc.h: DTC_VERSION_${part} is not ${want} "
                        "(project(VERSION ${PROJECT_VERSION}) in CMakeLists.txt)")
  endif()
endforeach()

set_target_properties(dtc PROPERTIES POSITION_INDEPENDENT_CODE ON
                                     C_VISIBILITY_PRESET hidden)

add_library(dtc_shared SHARED $<TARGET_OBJECTS:dtc>)
set_target_properties(dtc_shared PROPERTIES
  OUTPUT_NAME dtc
  EXPORT_NAME dtc
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
target_include_directories(dtc_shared PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(dtc_shared PRIVATE PkgConfig::UUID Threads::Threads rt)
target_link_options(dtc_shared PRIVATE -Wl,--no-undefined)
add_library(dtc::dtc ALIAS dtc_shared)
