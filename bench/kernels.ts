/**
 * Frozen-weight matrix products at the Qwen2.5-0.5B shapes: tfjs (active backend) vs FrozenLinear on
 * onnxruntime-node with 1 and 2 intra-op threads, forward (x·W) and backward (dy·Wᵀ).
 *
 * "apply" times FrozenLinear.apply end to end (tfjs → ORT → tfjs copies included); "native" times the
 * ORT run alone on Float32Arrays, so apply − native is the cost of crossing between tfjs and ORT.
 * "tf.matMul→ORT" is tf.matMul with installOrtMatMul (what selectBackend sets up), the weight an input.
 * The last rows time the fused LM head + cross-entropy (loss and dL/dh in one pass) over 512 rows.
 * Each figure is the best of `repeats` runs: the machine is shared, the best is the least disturbed.
 *
 * Run alone: node --import tsx bench/kernels.ts [--quick]
 */
import * as tf from "@tensorflow/tfjs";
import { applyEnvironment, readEnvironment } from "../src/environment.js";
import { selectBackend } from "../src/backend.js";
import { FrozenLinear, installOrtMatMul, LmHeadCrossEntropy, ortAvailable, OrtSession, uninstallOrtMatMul } from "../src/kernels/index.js";

export interface KernelShape {
  name: string;
  rows: number;
  in: number;
  out: number;
  /** "out,in" for the tied embedding used as the LM head. */
  layout?: "in,out" | "out,in";
}

export interface KernelBenchRow {
  shape: string;
  direction: "forward" | "backward";
  engine: string;
  ms: number;
  gflops: number;
  /** ORT run alone (no tfjs crossing), when measured. */
  nativeMs?: number;
}

const H = 896, I = 4864, KV = 128, V = 151936;

export const trainingShapes: KernelShape[] = [
  { name: "q/o proj [512,896]·[896,896]", rows: 512, in: H, out: H },
  { name: "k/v proj [512,896]·[896,128]", rows: 512, in: H, out: KV },
  { name: "gate/up [512,896]·[896,4864]", rows: 512, in: H, out: I },
  { name: "down [512,4864]·[4864,896]", rows: 512, in: I, out: H },
  { name: "LM head chunk [128,896]·[151936,896]ᵀ", rows: 128, in: H, out: V, layout: "out,in" },
];

export const decodeShapes: KernelShape[] = [
  { name: "decode b1 gate/up [1,896]·[896,4864]", rows: 1, in: H, out: I },
  { name: "decode b8 gate/up [8,896]·[896,4864]", rows: 8, in: H, out: I },
  { name: "decode b1 LM head [1,896]·[151936,896]ᵀ", rows: 1, in: H, out: V, layout: "out,in" },
  { name: "decode b8 LM head [8,896]·[151936,896]ᵀ", rows: 8, in: H, out: V, layout: "out,in" },
];

/** Best wall time of f over repeats. f reads its result back (dataSync) so lazy backends finish the work. */
function best(repeats: number, f: () => tf.Tensor | unknown): number {
  let ms = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    // A tidy must not return the typed array: tidy would walk its millions of elements as a container.
    tf.tidy(() => {
      const out = f();
      if (out instanceof tf.Tensor) out.dataSync();
    });
    ms = Math.min(ms, performance.now() - t);
  }
  return ms;
}

function randomData(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

export interface KernelBenchOptions {
  shapes?: KernelShape[];
  threads?: number[];
  repeats?: number;
  /** Skip tfjs products estimated above this many GFLOP (its transposed path runs at ~2 GFLOP/s). */
  tfjsMaxGflop?: number;
  log?: (line: string) => void;
}

export async function benchKernels(options: KernelBenchOptions = {}): Promise<KernelBenchRow[]> {
  const { shapes = [...trainingShapes, ...decodeShapes], threads = [1, 2], repeats = 3, tfjsMaxGflop = 5, log = console.log } = options;
  applyEnvironment(readEnvironment(process.env));
  const backend = await selectBackend();
  uninstallOrtMatMul(); // the tfjs rows measure the backend's own kernel
  const rows: KernelBenchRow[] = [];
  const record = (row: KernelBenchRow) => {
    rows.push(row);
    log(`${row.shape.padEnd(44)} ${row.direction.padEnd(8)} ${row.engine.padEnd(14)} ${row.ms.toFixed(2).padStart(9)} ms ` +
      `${row.gflops.toFixed(1).padStart(7)} GFLOP/s${row.nativeMs !== undefined ? `  (ORT alone ${row.nativeMs.toFixed(2)} ms)` : ""}`);
  };
  for (const s of shapes) {
    const flop = 2 * s.rows * s.in * s.out;
    const wShape: [number, number] = s.layout === "out,in" ? [s.out, s.in] : [s.in, s.out];
    const wData = randomData(s.in * s.out);
    const x = tf.tensor2d(randomData(s.rows * s.in), [s.rows, s.in]);
    const dy = tf.tensor2d(randomData(s.rows * s.out), [s.rows, s.out]);

    const w = tf.tensor2d(wData, wShape);
    const t = s.layout === "out,in";
    if (flop / 1e9 <= tfjsMaxGflop) {
      const fwd = best(repeats, () => tf.matMul(x, w, false, t));
      record({ shape: s.name, direction: "forward", engine: `tfjs-${backend.name}`, ms: fwd, gflops: flop / fwd / 1e6 });
      const bwd = best(repeats, () => tf.matMul(dy, w, false, !t));
      record({ shape: s.name, direction: "backward", engine: `tfjs-${backend.name}`, ms: bwd, gflops: flop / bwd / 1e6 });
    } else {
      log(`${s.name.padEnd(44)} tfjs-${backend.name} skipped (${(flop / 1e9).toFixed(0)} GFLOP: minutes on its transposed path)`);
    }
    if (ortAvailable()) {
      // tf.matMul itself routed to ORT (installOrtMatMul): the weight is an input, not a prepacked initializer.
      installOrtMatMul();
      const fwd = best(repeats, () => tf.matMul(x, w, false, t));
      record({ shape: s.name, direction: "forward", engine: "tf.matMul→ORT", ms: fwd, gflops: flop / fwd / 1e6 });
      const bwd = best(repeats, () => tf.matMul(dy, w, false, !t));
      record({ shape: s.name, direction: "backward", engine: "tf.matMul→ORT", ms: bwd, gflops: flop / bwd / 1e6 });
      uninstallOrtMatMul();
    }
    w.dispose();

    if (ortAvailable()) {
      for (const n of threads) {
        const lin = new FrozenLinear({ data: wData, shape: wShape }, { layout: s.layout, threads: n, engine: "onnxruntime" });
        const session = (lin as unknown as { session: OrtSession }).session;
        const xData = x.dataSync() as Float32Array;
        const dyData = dy.dataSync() as Float32Array;
        const nativeF = best(repeats, () => session.run({ x: session.float(xData, x.shape), back: session.bool(false) }, "y"));
        const fwd = best(repeats, () => lin.apply(x));
        record({ shape: s.name, direction: "forward", engine: `ort-${n}thread`, ms: fwd, gflops: flop / fwd / 1e6, nativeMs: nativeF });
        const nativeB = best(repeats, () => session.run({ x: session.float(dyData, dy.shape), back: session.bool(true) }, "y"));
        const grad = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(lin.apply(xx as tf.Tensor2D), dy)));
        // The gradient call also runs one forward and the elementwise ops; subtract the forward.
        const withForward = best(repeats, () => grad(x));
        const bwd = Math.max(withForward - fwd, nativeB);
        record({ shape: s.name, direction: "backward", engine: `ort-${n}thread`, ms: bwd, gflops: flop / bwd / 1e6, nativeMs: nativeB });
        lin.dispose();
      }
    }
    tf.dispose([x, dy]);
  }
  if (ortAvailable() && options.shapes === undefined) {
    const [N, chunk] = [512, Math.floor(2 ** 24 / V)];
    const flop = 2 * 2 * N * H * V; // logits and dL/dh
    for (const n of threads) {
      const ce = new LmHeadCrossEntropy({ data: randomData(V * H), shape: [V, H] }, { layout: "out,in", threads: n });
      const h = tf.tensor2d(randomData(N * H), [N, H]);
      const targets = Array.from({ length: N }, (_, i) => (i * 7919) % V);
      const rowIds = targets.map((_, i) => i);
      const grad = tf.grad((hh: tf.Tensor) => ce.sum(hh as tf.Tensor2D, rowIds, targets, chunk));
      const ms = best(repeats, () => grad(h));
      record({ shape: `fused LM head + CE [512,896]·[151936,896]ᵀ (${chunk}-row chunks)`, direction: "forward", engine: `ort-${n}thread`, ms, gflops: flop / ms / 1e6 });
      h.dispose();
      ce.dispose();
    }
  }
  installOrtMatMul();
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes("--quick");
  await benchKernels(quick ? { shapes: trainingShapes.slice(0, 4), repeats: 2 } : {});
}
