# Work around Debian 12's libxsimd-dev (8.1.0): its imported target `xsimd` lists the link item
# `xtl` (xsimd was packaged with XSIMD_ENABLE_XTL_COMPLEX) but xsimdConfig.cmake never looks for
# xtl, and libxsimd-dev does not depend on xtl-dev. Every program that links xsimd then fails
# with "ld: cannot find -lxtl". ctnn does not use xsimd's xtl interop, so:
#   - if an `xtl` target exists, or xtl's CMake package can be found, nothing changes;
#   - otherwise the dangling `xtl` item is removed from the `xsimd` target.
# Used after find_package(xsimd) by the top-level CMakeLists.txt and by the installed
# ctnnConfig.cmake (it is installed next to it).
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_ctnn_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_ctnn_xsimd_links AND "xtl" IN_LIST _ctnn_xsimd_links)
    find_package(xtl CONFIG QUIET)
    if(NOT TARGET xtl)
      list(REMOVE_ITEM _ctnn_xsimd_links xtl)
      set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "${_ctnn_xsimd_links}")
    endif()
  endif()
  unset(_ctnn_xsimd_links)
endif()
