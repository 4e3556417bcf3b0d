/**
 * LoRA training through the trainer (collate, forward + backward over the micro-batches, clipping, AdamW
 * update), for the small offline model, the small config issue 8 compares with PyTorch and the
 * Qwen2.5-0.5B shape (random weights): several optimizer steps on one fixed batch, so the loss must fall;
 * tokens/s is the input tokens of a step over the median wall time of the steps after the first (which warms
 * up; a median, as a shared machine's stalls land on single steps), the cores those steps kept busy (CPU time over
 * wall time), and the process's peak RSS. Each
 * configuration runs in its own process so that its peak RSS is its own.
 * Where a Python with torch, transformers and peft is at hand (TORCH_PYTHON, else python3 if it imports them), the
 * same configuration also runs on PyTorch (bench/train_torch.py, the same statistic) right after, for a ratio
 * measured in the same run; the small configurations (seconds each) alternate the two for ROUNDS rounds and
 * report each side's median round.
 *
 * Run alone: node --import tsx bench/train.ts [--quick] [--only=small|small-h256|0.5b] [--seq=2048,4096]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { applyEnvironment, readEnvironment } from "../src/environment.js";
import { selectBackend } from "../src/backend.js";
import { LoraModel } from "../src/model/lora.js";
import { QWEN25_05B_SHAPE, SMALL_RANDOM_QWEN2, randomQwen2Model } from "../src/model/random.js";
import { train } from "../src/train/trainer.js";
import { endOrtProfiling, ortRunTimes, resetOrtRunTimes, startOrtProfiling, tensorsOnHost } from "../src/kernels/index.js";
import { summariseOrtTraces } from "./ort-profile.js";

export interface TrainBenchConfig {
  model: keyof typeof MODELS;
  batch: number;
  seq: number;
  accumulation: number;
  /** Optimizer steps; every one after the first is timed. */
  steps: number;
  /** PyTorch recomputes every layer in the backward (gradient checkpointing: the long rows, where it needs it to fit). */
  checkpointing?: boolean;
}

export interface TrainBenchRow extends TrainBenchConfig {
  modelName: string;
  lora: string;
  /** Median wall time of the steps after the first. */
  stepSeconds: number;
  /** Runs of this configuration (alternating with PyTorch's) the row is the median of. */
  rounds?: number;
  tokensPerSecond: number;
  /** The process's CPU time over the wall time of the steps after the first: how many of the cores a step keeps busy. */
  coresBusy: number;
  /** The training loss of every step, on the same batch each time. */
  losses: number[];
  peakRssMiB: number;
  /** On WebGPU: the bytes of GPU buffers tfjs allocated (it pools freed ones: the peak). */
  peakGpuMiB?: number;
  /** Where the steps' wall time went, as shares (ORT's traces: see bench/ort-profile.ts); on the CPU backends. */
  timeShares?: Record<string, number>;
  backend: string;
  /** The same configuration on PyTorch, measured right after (when a PyTorch is installed). */
  reference?: { tool: string; tokensPerSecond: number; coresBusy: number; peakRssMiB: number; losses: number[] };
  /** Why PyTorch did not complete the configuration (e.g. out of memory). */
  referenceError?: string;
}

const MODELS = {
  small: { name: "small random (h64, 2 layers, vocab 151936)", shape: SMALL_RANDOM_QWEN2 },
  // The small config PyTorch was measured on in issue 8 (its heads and MLP width are not stated there: 4/2 and 1024 here).
  "small-h256": { name: "small config (h256, 2 layers, vocab 1000)", shape: { ...SMALL_RANDOM_QWEN2, hidden: 256, intermediate: 1024, vocab: 1000 } },
  "0.5b": { name: "Qwen2.5-0.5B shape (random, f32)", shape: QWEN25_05B_SHAPE },
};

function gpuBytesAllocated(): number {
  return (tf.backend() as unknown as { bufferManager: { numBytesAllocated: number } }).bufferManager.numBytesAllocated;
}

/** Runs one configuration in this process: `steps` optimizer steps on one batch, all but the first timed. */
export async function benchTrainStep(c: TrainBenchConfig): Promise<TrainBenchRow> {
  applyEnvironment(readEnvironment(process.env));
  const backend = await selectBackend();
  const base = randomQwen2Model(MODELS[c.model].shape);
  const lora = LoraModel.create(base, { r: 16, alpha: 32, dropout: 0.05 }, 0);
  let s = 12345;
  // One step's worth of examples: each epoch is one step, so every step sees the same batch.
  const examples = Array.from({ length: c.batch * c.accumulation }, (_, i) => {
    const ids = Array.from({ length: c.seq }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % (MODELS[c.model].shape.vocab - 1));
    return { id: `b${i}`, inputIds: ids, labels: ids.map((x, t) => (t < 16 ? -100 : x)), promptLength: 16, truncated: false };
  });
  const dir = mkdtempSync(join(tmpdir(), "bench-train-"));
  // CPU time (µs) and wall time (ms) at each step's end; ORT's run times counted from the first step's end.
  const marks: Array<{ cpu: number; wall: number }> = [];
  const markStep = () => {
    const u = process.cpuUsage();
    marks.push({ cpu: u.user + u.system, wall: performance.now() });
    if (marks.length === 1) resetOrtRunTimes();
  };
  try {
    const res = await train({
      model: lora, train: examples, padTokenId: 151643, callbacks: [{ onStepEnd: markStep }],
      config: {
        outputDir: dir, batchSize: c.batch, gradientAccumulation: c.accumulation, maxSteps: c.steps,
        learningRate: 1e-3, warmupRatio: 0, logEvery: 1000, saveEvery: 0,
      },
    });
    const timed = res.steps.slice(1);
    const seconds = median(timed.map((r) => r.seconds));
    return {
      ...c, modelName: MODELS[c.model].name, lora: "r=16, all 7 linears", backend: backend.source,
      stepSeconds: +seconds.toFixed(3), tokensPerSecond: +(timed[0]!.numInputTokens / seconds).toFixed(1),
      coresBusy: +((marks.at(-1)!.cpu - marks[0]!.cpu) / 1000 / (marks.at(-1)!.wall - marks[0]!.wall)).toFixed(2),
      losses: res.steps.map((r) => +r.loss.toFixed(4)),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      timeShares: tensorsOnHost() ? timeShares(ortRunTimes(), marks.at(-1)!.wall - marks[0]!.wall) : undefined,
      peakGpuMiB: backend.name === "webgpu" ? Math.round(gpuBytesAllocated() / 2 ** 20) : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    lora.dispose();
    base.dispose();
  }
}

/** Each kind of ORT session's share of the timed steps' wall time, and the rest (outside ORT). */
function timeShares(msByKind: Record<string, number>, wallMs: number): Record<string, number> {
  const shares = Object.fromEntries(Object.entries(msByKind).map(([k, ms]) => [k, +(ms / wallMs).toFixed(3)]));
  const inOrt = Object.values(msByKind).reduce((a, b) => a + b, 0);
  return { ...shares, "outside ORT (tfjs, optimizer, host)": +Math.max(0, 1 - inOrt / wallMs).toFixed(3) };
}

/**
 * Where a decoder layer's time goes (attention, the other matrix products, the rest), as shares of its ORT
 * time: one training step of a one-layer model of the configuration's shape, with ORT's per-node profiling on (in
 * its own process: profiling holds every node's event in memory, several GB over a whole 24-layer run).
 */
export async function layerTimeSplit(c: TrainBenchConfig): Promise<Record<string, number>> {
  applyEnvironment(readEnvironment(process.env));
  await selectBackend();
  const traces = mkdtempSync(join(tmpdir(), "bench-ort-trace-"));
  const dir = mkdtempSync(join(tmpdir(), "bench-train-"));
  startOrtProfiling(join(traces, "ort"));
  const base = randomQwen2Model({ ...MODELS[c.model].shape, layers: 1 });
  const lora = LoraModel.create(base, { r: 16, alpha: 32, dropout: 0.05 });
  try {
    const ids = Array.from({ length: c.seq }, (_, i) => (i * 7919) % (MODELS[c.model].shape.vocab - 1));
    const examples = Array.from({ length: c.batch }, (_, i) => ({ id: `b${i}`, inputIds: ids, labels: ids, promptLength: 0, truncated: false }));
    await train({ model: lora, train: examples, padTokenId: 151643, config: { outputDir: dir, batchSize: c.batch, maxSteps: 1, saveEvery: 0, logEvery: 1000 } });
    endOrtProfiling();
    const parts = summariseOrtTraces(traces);
    const layer = parts["attention"]! + parts["matrix products"]! + parts["other layer ops"]!;
    return Object.fromEntries(["attention", "matrix products", "other layer ops"].map((k) => [k, +(parts[k]! / layer).toFixed(3)]));
  } finally {
    endOrtProfiling();
    rmSync(traces, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    lora.dispose();
    base.dispose();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The run with the median throughput of an odd number of runs. */
function medianRun<T extends { tokensPerSecond: number }>(runs: T[]): T {
  return [...runs].sort((a, b) => a.tokensPerSecond - b.tokensPerSecond)[(runs.length - 1) >> 1]!;
}

/** Rounds for the configurations that take seconds (the 0.5B shape runs once: minutes a round). */
const ROUNDS = 3;

/** A Python that imports torch, transformers and peft (TORCH_PYTHON, else python3), or null. */
export function torchPython(): string | null {
  const python = process.env.TORCH_PYTHON ?? "python3";
  return spawnSync(python, ["-c", "import torch, transformers, peft"]).status === 0 ? python : null;
}

/**
 * The configuration on PyTorch (bench/train_torch.py), or why it failed. Its address space is capped at the machine's
 * memory less 4 GiB, so running out is a clean error, not the kernel's OOM killer picking a process.
 */
function torchReference(python: string, c: TrainBenchConfig): { reference: NonNullable<TrainBenchRow["reference"]> } | { error: string } {
  const shape = MODELS[c.model].shape;
  const memoryLimitGiB = Math.floor(totalmem() / 2 ** 30) - 4;
  const args = { ...shape, batch: c.batch, seq: c.seq, accumulation: c.accumulation, steps: c.steps, checkpointing: c.checkpointing ?? false, memoryLimitGiB };
  const r = spawnSync(python, [fileURLToPath(new URL("./train_torch.py", import.meta.url)), JSON.stringify(args)], { encoding: "utf8", maxBuffer: 1 << 24 });
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.status !== 0) {
    const error = last.startsWith("{") ? (JSON.parse(last) as { error: string }).error : r.stderr.trim().split("\n").at(-1) ?? `exit ${r.status}`;
    console.error(`PyTorch reference for ${c.model} ${c.batch}×${c.seq} failed: ${error}`);
    return { error };
  }
  return { reference: JSON.parse(last) as NonNullable<TrainBenchRow["reference"]> };
}

/** Every configuration, each in a child process; returns the rows (also printed as JSON lines). */
export function runTrainBench(opts: { quick?: boolean; gpu?: boolean; only?: TrainBenchConfig["model"][]; seqs?: number[] } = {}): TrainBenchRow[] {
  const all: TrainBenchConfig[] = [
    { model: "small", batch: 2, seq: 256, accumulation: 2, steps: 6 },
    { model: "small-h256", batch: 2, seq: 128, accumulation: 1, steps: 31 },
  ];
  if (opts.gpu) {
    // The shapes a GPU run is judged at (issue 13): the 0.5B shape at 4 × 512 and 8 × 1024 tokens a step.
    all.push({ model: "0.5b", batch: 4, seq: 512, accumulation: 1, steps: opts.quick ? 3 : 5 });
    if (!opts.quick) all.push({ model: "0.5b", batch: 8, seq: 1024, accumulation: 1, steps: 4 });
  } else {
    all.push({ model: "0.5b", batch: 1, seq: opts.quick ? 128 : 256, accumulation: 1, steps: 4 });
    if (!opts.quick) {
      all.push({ model: "0.5b", batch: 1, seq: 512, accumulation: 1, steps: 4 });
      // The full profile's length and beyond, against PyTorch as it fits them: SDPA and gradient checkpointing.
      for (const seq of [2048, 4096, 8192]) all.push({ model: "0.5b", batch: 1, seq, accumulation: 1, steps: seq > 4096 ? 2 : 3, checkpointing: true });
    }
  }
  const configs = all.filter((c) => (!opts.only || opts.only.includes(c.model)) && (!opts.seqs || opts.seqs.includes(c.seq)));
  console.log(JSON.stringify({ machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version } }));
  const rows: TrainBenchRow[] = [];
  const python = opts.gpu ? null : torchPython();
  for (const c of configs) {
    try {
      const ours: TrainBenchRow[] = [], theirs: NonNullable<TrainBenchRow["reference"]>[] = [];
      let referenceError: string | undefined;
      const rounds = c.model === "0.5b" || opts.quick ? 1 : ROUNDS;
      for (let i = 0; i < rounds; i++) {
        const out = execFileSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), `--child=${JSON.stringify(c)}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        ours.push(JSON.parse(out.trim().split("\n").at(-1)!) as TrainBenchRow);
        const ref = python ? torchReference(python, c) : undefined;
        if (ref && "reference" in ref) theirs.push(ref.reference);
        else if (ref) referenceError = ref.error;
      }
      const row: TrainBenchRow = { ...medianRun(ours), rounds, reference: theirs.length ? medianRun(theirs) : undefined, referenceError: theirs.length ? undefined : referenceError };
      // The decoder layers' share split into attention, products and the rest, from a profiled one-layer step.
      if (row.timeShares?.["decoder layers"] !== undefined && c.model === "0.5b") {
        const out = execFileSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), `--layer-split=${JSON.stringify(c)}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        const split = JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, number>;
        const layers = row.timeShares["decoder layers"];
        const { "decoder layers": _, ...rest } = row.timeShares;
        row.timeShares = { ...Object.fromEntries(Object.entries(split).map(([k, v]) => [`layers: ${k}`, +(v * layers).toFixed(3)])), ...rest };
      }
      rows.push(row);
      console.log(JSON.stringify(row));
    } catch (e) {
      // the child's last stderr line says why (e.g. the wasm heap's 4 GiB limit: "Aborted()")
      const stderr = String((e as { stderr?: string }).stderr ?? "").trim().split("\n").filter((l) => l.length < 300);
      console.log(JSON.stringify({ ...c, error: stderr.slice(-3).join(" | ") || (e as Error).message.split("\n")[0] }));
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const child = process.argv.find((a) => a.startsWith("--child="));
  const split = process.argv.find((a) => a.startsWith("--layer-split="));
  if (split) {
    console.log(JSON.stringify(await layerTimeSplit(JSON.parse(split.slice(14)))));
  } else if (child) {
    console.log(JSON.stringify(await benchTrainStep(JSON.parse(child.slice(8)))));
  } else {
    const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7) as TrainBenchConfig["model"] | undefined;
    const seqs = process.argv.find((a) => a.startsWith("--seq="))?.slice(6).split(",").map(Number);
    runTrainBench({ quick: process.argv.includes("--quick"), only: only && [only], seqs });
  }
}
