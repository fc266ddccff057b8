// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU) on float32 inputs; prints the
// output as JSON. Used by check_onnx.py, which sets NODE_PATH to where onnxruntime-node is.
//   node run_ort.js MODEL.onnx INPUT.bin '[N, C, H, W]'   (INPUT.bin: little-endian float32)
const fs = require("fs");
const ort = require("onnxruntime-node");

async function main() {
  const [model, input, shapeJson] = process.argv.slice(2);
  const shape = JSON.parse(shapeJson);
  const bytes = fs.readFileSync(input);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const session = await ort.InferenceSession.create(model, { executionProviders: ["cpu"] });
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", Float32Array.from(data), shape) };
  const out = (await session.run(feeds))[session.outputNames[0]];
  const [n, k] = out.dims;
  const rows = [];
  for (let i = 0; i < n; ++i) rows.push(Array.from(out.data.slice(i * k, (i + 1) * k)));
  process.stdout.write(JSON.stringify(rows));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
