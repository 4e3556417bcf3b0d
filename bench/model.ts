/**
 * Qwen2 model throughput on the selected tfjs backend, for the Qwen2.5-0.5B shape (random weights, built in
 * memory) and the small offline model: prefill tokens/s, decode tokens/s with the KV cache (batch 1 and 8),
 * one LoRA training step's tokens/s (forward + backward w.r.t. the adapters; the optimizer update of the
 * few adapter weights is not included), and the process's peak RSS.
 *
 * Where a Python with torch and transformers is at hand (TORCH_PYTHON, else python3), the same prefill and decode
 * workloads then run on PyTorch (bench/model_torch.py) and each row carries its figure as `reference`.
 *
 * Run alone: node --import tsx bench/model.ts [--quick] [--only=small|0.5b]
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { applyEnvironment, readEnvironment } from "../src/environment.js";
import { selectBackend } from "../src/backend.js";
import { FEW_ROWS, ortAvailable } from "../src/kernels/index.js";
import { ortServesActiveBackend } from "../src/kernels/bridge.js";
import { generateAsync } from "../src/model/generate.js";
import { LoraModel } from "../src/model/lora.js";
import { QWEN25_05B_SHAPE, SMALL_RANDOM_QWEN2, randomQwen2Model } from "../src/model/random.js";
import type { Qwen2Model } from "../src/model/qwen2.js";
import { torchPython } from "./train.js";

export interface ModelBenchOptions {
  quick?: boolean;
  only?: "small" | "0.5b";
}

function tokens(B: number, L: number, seed: number): number[][] {
  let s = seed;
  return Array.from({ length: B }, () => Array.from({ length: L }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % 150000));
}

/** Wall time of `f`, which ends with a read of its result (on a GPU, the wait for the work queued). */
async function seconds<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
}

const peakRssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

interface Workloads {
  prefill: number;
  prompt: number;
  decode: number;
  trainSeq: number[];
}

/**
 * The prefill and decode workloads on PyTorch (bench/model_torch.py) for a model of this shape, attached to the
 * matching rows as `reference` (nothing when no PyTorch is installed or it fails: its error on stderr).
 */
function addTorchReference(rows: Record<string, unknown>[], shape: typeof SMALL_RANDOM_QWEN2, o: Workloads): void {
  const python = torchPython();
  if (!python || tf.getBackend() === "webgpu") return;
  const args = { ...shape, prefill: o.prefill, prompt: o.prompt, decode: o.decode };
  const r = spawnSync(python, [fileURLToPath(new URL("./model_torch.py", import.meta.url)), JSON.stringify(args)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.error(`PyTorch generation reference failed: ${r.stderr.trim().split("\n").at(-1)}`);
    return;
  }
  for (const line of r.stdout.trim().split("\n")) {
    const ref = JSON.parse(line) as { measure: string; batch: number; tokensPerSecond: number; peakRssMiB: number; tool: string };
    const row = rows.find((x) => x.measure === ref.measure && x.batch === ref.batch);
    if (row) row.reference = { tool: ref.tool, tokensPerSecond: ref.tokensPerSecond, peakRssMiB: ref.peakRssMiB };
  }
}

async function benchOne(name: string, model: Qwen2Model, o: Workloads): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  const row = (r: Record<string, unknown>) => {
    rows.push({ model: name, ...r, peakRssMiB: peakRssMiB(), wasmHeapMiB: Math.round(tf.memory().numBytes / 2 ** 20) });
  };
  // First use: builds the ORT sessions (few-row prepacked ones, many-row ones, the decode LM head) or compiles
  // the GPU's shaders — a load-time cost, reported on its own row, not counted in the throughputs below.
  const [, tw] = await seconds(async () => {
    tf.dispose(model.hiddenStates({ inputIds: tokens(1, 8, 1) }));
    const h = model.hiddenStates({ inputIds: tokens(1, FEW_ROWS + 1, 1) });
    const logits = tf.tidy(() => model.logitsFromHidden(h.slice([0, 0], [1, -1])));
    await logits.data();
    tf.dispose([h, logits]);
  });
  row({ measure: "first use (ORT sessions or GPU shaders built)", batch: 1, seconds: +tw.toFixed(3) });

  // The median of three prefills (one is ~1 s at the 0.5B shape: a single one swings with the machine's load).
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [, t] = await seconds(async () => {
      const h = model.hiddenStates({ inputIds: tokens(1, o.prefill, 2 + i) });
      const last = tf.tidy(() => model.logitsFromHidden(h.slice([o.prefill - 1, 0], [1, -1])));
      await last.data();
      tf.dispose([h, last]);
    });
    times.push(t);
  }
  const tp = times.sort((a, b) => a - b)[1];
  row({ measure: "prefill", batch: 1, seq: o.prefill, seconds: +tp.toFixed(3), tokensPerSecond: +(o.prefill / tp).toFixed(1) });

  for (const B of [1, 8]) {
    const prompts = { inputIds: tokens(B, o.prompt, 3 + B) };
    const times: number[] = [];
    let last = performance.now();
    await generateAsync(model, prompts, {
      maxNewTokens: o.decode + 1,
      eosTokenIds: [],
      onToken: (e) => {
        if (e.row !== B - 1) return;
        const now = performance.now();
        times.push(now - last);
        last = now;
      },
    });
    const decodeMs = times.slice(1).reduce((a, b) => a + b, 0); // the first token includes the prefill
    row({ measure: "decode (KV cache)", batch: B, prompt: o.prompt, newTokens: o.decode, seconds: +(decodeMs / 1000).toFixed(3), tokensPerSecond: +((B * o.decode) / (decodeMs / 1000)).toFixed(1) });
  }

  const lora = LoraModel.create(model, { r: 16, alpha: 32, dropout: 0.05 }, 0);
  const vars = [...lora.trainableVariables().values()];
  for (const seq of o.trainSeq) {
    const ids = tokens(1, seq, 9);
    const batch = { inputIds: ids, attentionMask: ids.map((r) => r.map(() => 1)), labels: ids };
    try {
      const [, ts] = await seconds(async () => {
        const { value, grads } = tf.variableGrads(() => lora.sumLoss(batch, { training: true, seed: 1 }), vars);
        await value.data();
        tf.dispose([value, ...Object.values(grads)]);
      });
      row({ measure: "LoRA train step (fwd+bwd, r=16, all 7 linears)", batch: 1, seq, seconds: +ts.toFixed(3), tokensPerSecond: +(seq / ts).toFixed(1) });
    } catch (e) {
      row({ measure: "LoRA train step", batch: 1, seq, error: (e as Error).message.split("\n")[0] });
    }
  }
  lora.dispose();
  return rows;
}

/** Runs the model benchmarks and returns one record per measurement (also printed as JSON lines). */
export async function runModelBench(opts: ModelBenchOptions = {}): Promise<Record<string, unknown>[]> {
  applyEnvironment(readEnvironment(process.env));
  const backend = await selectBackend();
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    backend: backend.source,
    // src/kernels routes frozen-weight products to onnxruntime when it loads (OPENR1_ORT=0 turns it off).
    frozenLinears: ortAvailable() && ortServesActiveBackend() ? "onnxruntime-node (MLAS)" : `tfjs ${backend.name}`,
    node: process.version,
  };
  console.log(JSON.stringify({ machine }));
  const rows: Record<string, unknown>[] = [];
  const q = opts.quick;
  if (opts.only !== "0.5b") {
    const small = randomQwen2Model(SMALL_RANDOM_QWEN2);
    const o = { prefill: 256, prompt: 32, decode: q ? 8 : 32, trainSeq: [256, 512] };
    const r = await benchOne("small random (h64, 2 layers, vocab 151936)", small, o);
    small.dispose();
    addTorchReference(r, SMALL_RANDOM_QWEN2, o);
    for (const x of r) console.log(JSON.stringify(x));
    rows.push(...r);
  }
  if (opts.only !== "small") {
    let big: Qwen2Model | undefined;
    try {
      big = randomQwen2Model(QWEN25_05B_SHAPE);
      const o = { prefill: q ? 64 : 256, prompt: 32, decode: q ? 4 : 16, trainSeq: q ? [256] : [256, 512] };
      const r = await benchOne("Qwen2.5-0.5B shape (random, f32)", big, o);
      big.dispose();
      big = undefined;
      addTorchReference(r, QWEN25_05B_SHAPE, o);
      for (const x of r) console.log(JSON.stringify(x));
      rows.push(...r);
    } catch (e) {
      const r = { model: "Qwen2.5-0.5B shape (random, f32)", error: (e as Error).message.split("\n")[0], peakRssMiB: peakRssMiB() };
      console.log(JSON.stringify(r));
      rows.push(r);
    } finally {
      big?.dispose();
    }
  }
  return rows.map((r) => ({ ...machine, ...r }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7) as ModelBenchOptions["only"];
  await runModelBench({ quick: process.argv.includes("--quick"), only });
}
