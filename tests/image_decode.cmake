# Included by tests/CMakeLists.txt (every tests/*.cmake is).
# ctnn_image_tests: ctnn/io/image_decode.hpp and ctnn/io/image_folder.hpp (libpng, libjpeg-turbo;
# Debian: libpng-dev libjpeg62-turbo-dev) on images the tests encode themselves. A separate
# executable so that the unit tests (and their sanitized build) do not need the image libraries.
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)
file(GLOB CTNN_IMAGE_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/image/*.cpp)
add_executable(ctnn_image_tests ${CTNN_IMAGE_TEST_SOURCES} ${CMAKE_CURRENT_SOURCE_DIR}/unit/main.cpp)
target_link_libraries(ctnn_image_tests PRIVATE ctnn::ctnn ctnn_project_flags doctest::doctest PNG::PNG JPEG::JPEG)
target_include_directories(ctnn_image_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
doctest_discover_tests(ctnn_image_tests)
# The CIFAR-10 round trip (test_image_folder.cpp) reads the data and skips without it.
file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/ctnn_image_tests_properties.cmake CONTENT
  "set_tests_properties(\${ctnn_image_tests_TESTS} PROPERTIES PROCESSORS 2 SKIP_REGULAR_EXPRESSION CTNN_SKIP: ENVIRONMENT \"CTNN_CIFAR10_DIR=${CTNN_CIFAR10_DIR};OMP_NUM_THREADS=2\")\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_CURRENT_BINARY_DIR}/ctnn_image_tests_properties.cmake)
