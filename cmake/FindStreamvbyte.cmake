# Debian's libstreamvbyte-dev ships no pkg-config file.
find_path(STREAMVBYTE_INCLUDE_DIR streamvbyte.h)
find_library(STREAMVBYTE_LIBRARY NAMES streamvbyte)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Streamvbyte DEFAULT_MSG STREAMVBYTE_LIBRARY STREAMVBYTE_INCLUDE_DIR)
if(Streamvbyte_FOUND AND NOT TARGET Streamvbyte::Streamvbyte)
  add_library(Streamvbyte::Streamvbyte UNKNOWN IMPORTED)
  set_target_properties(Streamvbyte::Streamvbyte PROPERTIES
    IMPORTED_LOCATION "${STREAMVBYTE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${STREAMVBYTE_INCLUDE_DIR}")
endif()
