# scripts/get-fer2013.sh and scripts/get-cifar10.sh on small synthetic archives and CSVs: good
# input unpacks byte for byte, and bad input fails with a message naming the file and the fault.
add_test(NAME scripts.get_data
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/get_data_test.sh ${PROJECT_SOURCE_DIR}
          ${CMAKE_CURRENT_BINARY_DIR}/get_data_test)
set_tests_properties(scripts.get_data PROPERTIES LABELS scripts TIMEOUT 300)
