// expect-error: ctnn::io::save_onnx: the network has a layer with no ONNX form
// A layer of the user's own (here: a copy of ReLU under another name) has no OnnxExport
// specialisation, so exporting a network that holds it must not compile, with a sentence that
// says what to do; the 'OnnxExport<...>' instantiation line names the layer's type.
#include <ctnn/ctnn.hpp>
#include <ctnn/io/onnx.hpp>

template <class T, class In, std::size_t Position>
struct MyActivationLayer : ctnn::ReLULayer<T, In, Position> {};
struct MyActivation {
  template <class T, class InShape, std::size_t Position>
  using bind = MyActivationLayer<T, InShape, Position>;
};

int main() {
  ctnn::Sequential<ctnn::Input<1, 4, 4>, ctnn::Conv<1, 2, 3>, MyActivation, ctnn::Linear<2>> net(0);
  return static_cast<int>(ctnn::io::to_onnx(net, {.mean = {0.0f}, .std = {1.0f}}).size());
}
