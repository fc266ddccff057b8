# Included by tests/CMakeLists.txt (every tests/*.cmake is).
# ctnn_image_tests: ctnn/io/image_decode.hpp (libpng, libjpeg-turbo; Debian: libpng-dev
# libjpeg62-turbo-dev) on images the test encodes itself. A separate executable so that the
# unit tests (and their sanitized build) do not need the image libraries.
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)
add_executable(ctnn_image_tests ${CMAKE_CURRENT_SOURCE_DIR}/image/test_image_decode.cpp ${CMAKE_CURRENT_SOURCE_DIR}/unit/main.cpp)
target_link_libraries(ctnn_image_tests PRIVATE ctnn::ctnn ctnn_project_flags doctest::doctest PNG::PNG JPEG::JPEG)
doctest_discover_tests(ctnn_image_tests)
