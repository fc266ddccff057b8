#pragma once
// The library's version, as project(ctnn VERSION ...) in the top-level CMakeLists.txt says it
// (a unit test checks that the two agree). ONNX files record it as producer_version.
#define CTNN_VERSION "0.1.0"

namespace ctnn {
inline constexpr const char* version = CTNN_VERSION;
}  // namespace ctnn
