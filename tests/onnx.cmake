# ONNX export in real consumers (tests/onnx/). onnx.onnxruntime installs ONNX Runtime for Node
# into the build folder (npm; skipped without npm); onnx.layer_zoo checks a network holding
# every layer kind in OpenCV's dnn and ONNX Runtime. The per-preset tests (onnx.cifar10.*,
# onnx.fer2013.*) are registered in examples/CMakeLists.txt, beside the programs they run.
# Without the Python modules onnx, cv2 and numpy the checks exit 77 (skipped).
set(CTNN_ONNXRUNTIME_DIR ${PROJECT_BINARY_DIR}/onnxruntime CACHE PATH
    "Where onnx.onnxruntime installs onnxruntime-node (npm) for the ONNX tests")
add_executable(onnx_layer_zoo ${CMAKE_CURRENT_SOURCE_DIR}/onnx/onnx_layer_zoo.cpp)
target_link_libraries(onnx_layer_zoo PRIVATE ctnn::io ctnn_project_flags)
target_include_directories(onnx_layer_zoo PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})

add_test(NAME onnx.onnxruntime COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/onnx/install_onnxruntime.sh ${CTNN_ONNXRUNTIME_DIR})
set_tests_properties(onnx.onnxruntime PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 700 LABELS onnx)
add_test(NAME onnx.layer_zoo
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/onnx/layer_zoo.sh $<TARGET_FILE:onnx_layer_zoo>
                 ${CMAKE_CURRENT_BINARY_DIR}/onnx_layer_zoo_out ${CTNN_ONNXRUNTIME_DIR})
set_tests_properties(onnx.layer_zoo PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 DEPENDS onnx.onnxruntime LABELS onnx
                     ENVIRONMENT "OMP_NUM_THREADS=2")
