// Runs every case in DIR (NAME.onnx, NAME.input, NAME.expected, NAME.json; written by
// test_onnx_export) in ONNX Runtime's CPU provider and compares its output with ctnn's
// Model::predict. Prints one line per case; exits 1 if any output differs beyond tolerance.
//   NODE_PATH=.deps/onnxruntime/node_modules node compare_with_onnxruntime.js DIR
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// Both sides compute in fp32 with different algorithms: oneDNN (direct or Winograd
// convolution, its own summation order) against ONNX Runtime's MLAS after it has folded each
// BN into the convolution before it. Measured on the cases here (AMD EPYC, AVX-512), outputs
// differ by at most 7e-7 of the case's largest |output| (ResNet-18's 20 layers included).
// The bound, 1e-4 of that scale (relative, so it doesn't depend on the logits' magnitude),
// leaves two orders of magnitude for other CPUs' kernels; every mapping error tried moved
// outputs by 2e-2 of it or more (BN's mean and variance swapped, padding left out of an
// average, a residual's ReLU or identity shortcut dropped, ceil-mode pooling).
const relativeTolerance = 1e-4;

function floats(file) {
  const bytes = fs.readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function main() {
  const dir = process.argv[2];
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  if (names.length === 0) throw new Error(`no cases in ${dir} (test_onnx_export writes them)`);
  console.log(`onnxruntime-node ${ort.env.versions.node}, ${names.length} cases, tolerance ${relativeTolerance} of max |output|`);
  let failed = 0;
  for (const name of names) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
    const session = await ort.InferenceSession.create(path.join(dir, `${name}.onnx`), {
      executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    });
    const input = new ort.Tensor('float32', floats(path.join(dir, `${name}.input`)), meta.input);
    const result = (await session.run({ input })).output;
    const expected = floats(path.join(dir, `${name}.expected`));
    const shapeOk = JSON.stringify(result.dims) === JSON.stringify(meta.output) && result.data.length === expected.length;
    let scale = 0, worst = 0, at = 0;
    for (let i = 0; i < expected.length; ++i) scale = Math.max(scale, Math.abs(expected[i]));
    if (shapeOk) {
      for (let i = 0; i < expected.length; ++i) {
        const d = Math.abs(result.data[i] - expected[i]);
        if (!(d <= worst)) [worst, at] = [Number.isNaN(d) ? Infinity : d, i];  // a NaN is the worst
      }
    }
    const ok = shapeOk && worst <= relativeTolerance * scale;
    if (!ok) ++failed;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: output [${result.dims}] (ctnn [${meta.output}]), ` +
                `max |ort - ctnn| ${worst.toExponential(2)} at ${at} (ort ${result.data[at]}, ctnn ${expected[at]}), ` +
                `max |ctnn| ${scale.toExponential(2)}, relative ${(worst / scale).toExponential(2)}`);
  }
  if (failed) {
    console.log(`${failed} of ${names.length} cases differ`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
