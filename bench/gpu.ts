/**
 * Matrix-product throughput of the active GPU backend (f32): the ceiling every other GPU figure sits under.
 * Each product is timed over several runs ended by one read (the GPU's queue drained).
 *
 * Run alone: OPENR1_BACKEND=webgpu node --import tsx bench/gpu.ts [--quick]
 */
import * as tf from "@tensorflow/tfjs";
import { applyEnvironment, readEnvironment } from "../src/environment.js";
import { selectBackend } from "../src/backend.js";
import { webGpuAdapter } from "../src/webgpu.js";

export interface GpuMatMulRow {
  n: number;
  tflops: number;
}

export async function gpuMatMulBench(opts: { quick?: boolean } = {}): Promise<GpuMatMulRow[]> {
  applyEnvironment(readEnvironment(process.env));
  const backend = await selectBackend();
  if (backend.name !== "webgpu") throw new Error(`gpuMatMulBench needs the webgpu backend (active: ${backend.name})`);
  // A software adapter (lavapipe) does a few GFLOP/s: keep its products small.
  const sizes = webGpuAdapter()?.fallback ? [256, 512] : opts.quick ? [1024, 4096] : [1024, 2048, 4096, 8192];
  const rows: GpuMatMulRow[] = [];
  for (const n of sizes) {
    const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
    await tf.matMul(a, b).data(); // compiles the shader
    const runs = Math.max(2, Math.min(20, Math.round(2e11 / (2 * n ** 3))));
    const t0 = performance.now();
    let c: tf.Tensor | undefined;
    for (let i = 0; i < runs; i++) {
      c?.dispose();
      c = tf.matMul(a, b);
    }
    const corner = tf.slice(c!, [0, 0], [1, 1]); // queued after the last product: reading it waits for all
    await corner.data();
    const s = (performance.now() - t0) / 1000;
    corner.dispose();
    rows.push({ n, tflops: +((2 * n ** 3 * runs) / s / 1e12).toFixed(3) });
    tf.dispose([a, b, c!]);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await gpuMatMulBench({ quick: process.argv.includes("--quick") })) console.log(JSON.stringify(r));
}
