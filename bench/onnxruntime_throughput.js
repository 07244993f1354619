// ONNX Runtime's CPU inference throughput on an ONNX file, the same measurement as ctnn's
// INFER_ONLY run of bench/throughput.hpp: a batch (BATCH, 128) of random inputs, 3 warm-up
// runs, then STEPS (20) timed ones, on T threads (ORT's intra-op pool; inter-op 1, sequential).
// Full graph optimization (BN folded into the convolutions, Conv+ReLU fused). SPIN=0 stops the
// pool's threads from spinning between runs (ORT's default is to spin).
//   NODE_PATH=.deps/onnxruntime/node_modules T=2 node onnxruntime_throughput.js MODEL.onnx
// Prints: onnxruntime VERSION threads T: infer img/s X
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const file = process.argv[2];
  const threads = Number(process.env.T || 2), batch = Number(process.env.BATCH || 128);
  const steps = Number(process.env.STEPS || 20);
  const session = await ort.InferenceSession.create(file, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: process.env.SPIN === '0' ? '0' : '1' } } },
  });
  const input = new Float32Array(batch * 3 * 32 * 32);
  for (let i = 0; i < input.length; ++i) input[i] = Math.random() * 4 - 2;
  const feeds = { input: new ort.Tensor('float32', input, [batch, 3, 32, 32]) };
  for (let i = 0; i < 3; ++i) await session.run(feeds);
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; ++i) await session.run(feeds);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`onnxruntime ${ort.env.versions.node} threads ${threads}: infer img/s ${(steps * batch / seconds).toFixed(0)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
