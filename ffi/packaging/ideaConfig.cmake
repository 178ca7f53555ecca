# CMake package of the IDEA SDK's C ABI, installed by `cargo xtask ffi-install` under lib/cmake/idea.
#   find_package(idea 0.1 REQUIRED)
#   target_link_libraries(my_gateway PRIVATE idea::idea)         # the shared library
#   target_link_libraries(my_gateway PRIVATE idea::idea_static)  # or the static one
# The package is relocatable: paths are found from where this file lies.
get_filename_component(_idea_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET idea::idea)
  add_library(idea::idea SHARED IMPORTED)
  set_target_properties(idea::idea PROPERTIES
    IMPORTED_LOCATION "${_idea_prefix}/lib/libidea.so"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_INCLUDE_DIRECTORIES "${_idea_prefix}/include")
endif()

if(NOT TARGET idea::idea_static)
  add_library(idea::idea_static STATIC IMPORTED)
  include("${CMAKE_CURRENT_LIST_DIR}/ideaNativeLibs.cmake")
  set_target_properties(idea::idea_static PROPERTIES
    IMPORTED_LOCATION "${_idea_prefix}/lib/libidea.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_idea_prefix}/include"
    INTERFACE_LINK_LIBRARIES "${IDEA_NATIVE_LIBS}")
endif()

unset(_idea_prefix)
set(idea_FOUND TRUE)
