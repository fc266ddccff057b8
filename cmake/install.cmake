# Install rules and the CMake package for ctnn (header-only).
#
#   cmake --install <build> [--prefix <dir>]
#
# installs
#   <prefix>/include/ctnn/**                               the headers
#   <prefix>/<libdir>/cmake/ctnn/ctnnConfig.cmake          find_package(ctnn CONFIG) entry point
#   <prefix>/<libdir>/cmake/ctnn/ctnnConfigVersion.cmake   SameMajorVersion, arch-independent
#   <prefix>/<libdir>/cmake/ctnn/ctnnTargets.cmake         the imported target ctnn::ctnn
#   <prefix>/<libdir>/cmake/ctnn/ctnnIoTargets.cmake       ctnn::io (ctnn/io/ + nlohmann_json),
#                                                          when nlohmann_json was found
#   <prefix>/<libdir>/cmake/ctnn/ctnnMpiTargets.cmake      ctnn::mpi (ctnn/mpi/ + MPI's C API),
#                                                          when MPI was found
#   <prefix>/<libdir>/cmake/ctnn/ctnnXsimdFix.cmake        see that file (Debian's xsimd + xtl)
# Everything is relative to the prefix, so the installed tree can be moved.
#
# Only the `ctnn`, `ctnn_io` (as ctnn::io) and `ctnn_mpi` (as ctnn::mpi) targets are exported. `ctnn_project_flags` (warnings, -march=native for this
# project's own programs) is deliberately neither installed nor exported.
#
# Included from the top-level CMakeLists.txt. When ctnn is pulled in with add_subdirectory()
# or FetchContent, no install rules are made unless CTNN_INSTALL is turned on.

option(CTNN_INSTALL "Generate ctnn's install rules and CMake package files" ${CTNN_TOP_LEVEL})
if(NOT CTNN_INSTALL)
  return()
endif()

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CTNN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/ctnn" CACHE STRING
    "Where ctnn's CMake package files are installed (relative to the prefix)")
mark_as_advanced(CTNN_INSTALL_CMAKEDIR)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/ctnn"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT ctnn_Development
        FILES_MATCHING
          PATTERN "*.hpp"
          PATTERN "*.h"
          PATTERN "*.inl"
          PATTERN "*.ipp")

# The include directory for installed consumers comes from the target's
# $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}> entry in the top-level CMakeLists.txt.
install(TARGETS ctnn
        EXPORT ctnnTargets
        COMPONENT ctnn_Development)

install(EXPORT ctnnTargets
        NAMESPACE ctnn::
        FILE ctnnTargets.cmake
        DESTINATION "${CTNN_INSTALL_CMAKEDIR}"
        COMPONENT ctnn_Development)

# ctnn::io in an export set of its own: ctnnConfig.cmake loads it only when it finds
# nlohmann_json, so a consumer without nlohmann-json still gets ctnn::ctnn.
set(CTNN_PACKAGE_HAS_IO OFF)
if(TARGET ctnn_io)
  set(CTNN_PACKAGE_HAS_IO ON)
  install(TARGETS ctnn_io
          EXPORT ctnnIoTargets
          COMPONENT ctnn_Development)
  install(EXPORT ctnnIoTargets
          NAMESPACE ctnn::
          FILE ctnnIoTargets.cmake
          DESTINATION "${CTNN_INSTALL_CMAKEDIR}"
          COMPONENT ctnn_Development)
endif()

# ctnn::mpi likewise: loaded when the consumer's CMake finds MPI (component "mpi").
set(CTNN_PACKAGE_HAS_MPI OFF)
if(TARGET ctnn_mpi)
  set(CTNN_PACKAGE_HAS_MPI ON)
  install(TARGETS ctnn_mpi
          EXPORT ctnnMpiTargets
          COMPONENT ctnn_Development)
  install(EXPORT ctnnMpiTargets
          NAMESPACE ctnn::
          FILE ctnnMpiTargets.cmake
          DESTINATION "${CTNN_INSTALL_CMAKEDIR}"
          COMPONENT ctnn_Development)
endif()

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/ctnnConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/ctnnConfig.cmake"
  INSTALL_DESTINATION "${CTNN_INSTALL_CMAKEDIR}")

# Header-only: the same package works for any architecture / pointer size.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cmake/ctnnConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)

install(FILES
          "${PROJECT_BINARY_DIR}/cmake/ctnnConfig.cmake"
          "${PROJECT_BINARY_DIR}/cmake/ctnnConfigVersion.cmake"
          "${CMAKE_CURRENT_LIST_DIR}/ctnnXsimdFix.cmake"
        DESTINATION "${CTNN_INSTALL_CMAKEDIR}"
        COMPONENT ctnn_Development)
