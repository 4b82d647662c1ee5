# Debian's libstemmer-dev ships no pkg-config file.
find_path(LIBSTEMMER_INCLUDE_DIR libstemmer.h)
find_library(LIBSTEMMER_LIBRARY NAMES stemmer)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Libstemmer DEFAULT_MSG LIBSTEMMER_LIBRARY LIBSTEMMER_INCLUDE_DIR)
if(Libstemmer_FOUND AND NOT TARGET Libstemmer::Libstemmer)
  add_library(Libstemmer::Libstemmer UNKNOWN IMPORTED)
  set_target_properties(Libstemmer::Libstemmer PROPERTIES
    IMPORTED_LOCATION "${LIBSTEMMER_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LIBSTEMMER_INCLUDE_DIR}")
endif()
