/**
 * What one LoRA training configuration really holds, beside the memory pre-check's estimate (src/train/memory.ts):
 * two optimizer steps of `runTrainJob` on generated problems, then one JSON line with the wasm heap's size (it only
 * grows, so it is the peak the heap had to reach), tfjs's live bytes after a step, the process's peak RSS (VmHWM)
 * and the estimate. One configuration per process, so that each peak is its own:
 *
 *   node --import tsx bench/train-memory.ts --model tiny-math --r 2000 --batch 8 --seq 256 [--accum 2] [--data embedded]
 *
 * --model: tiny-math, random-small, random-0.5b (Qwen2.5-0.5B's shape, random weights, ~6 GB RSS) or a folder.
 * A configuration past the wasm heap's 4 GiB ends in an error (the pre-check's or the caught allocation failure's).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/backend.js";
import { dataSourceFrom, prepareDataset } from "../src/data/index.js";
import { ensureRandomQwen2, QWEN25_05B_SHAPE } from "../src/model/random.js";
import { parseQwen2Config } from "../src/model/config.js";
import { runTrainJob } from "../src/train/job.js";
import { trainingMemoryNeed } from "../src/train/memory.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
// "random-0.5b": Qwen2.5-0.5B's shape with random BF16 weights, written once into the model cache (~1 GB).
const model = arg("model", "tiny-math") === "random-0.5b" ? await ensureRandomQwen2({ ...QWEN25_05B_SHAPE, dtype: "BF16" }) : arg("model", "tiny-math");
const r = Number(arg("r", "16"));
const batchSize = Number(arg("batch", "8"));
const maxSeqLength = Number(arg("seq", "256"));
const gradientAccumulation = Number(arg("accum", "1"));
// "embedded": real OpenR1 rows, longer than --seq (truncated to it), so that every batch is --seq long.
const dataSource = arg("data", "generated");

await selectBackend("wasm");
const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
const gib = (b: number) => Number((b / 2 ** 30).toFixed(3));
const rssPeak = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
const data = await prepareDataset(dataSourceFrom(dataSource), { split: { validation: 8, seed: 1 } });
const out = mkdtempSync(join(tmpdir(), "openr1-train-memory-"));
const row: Record<string, unknown> = { model, data: dataSource, r, batchSize, maxSeqLength, gradientAccumulation };
let liveBytes = 0;
try {
  const result = await runTrainJob({
    data: data.split, model, lora: { r, alpha: 2 * r },
    format: { target: "solution", maxSeqLength, overLength: "truncate" },
    trainer: { outputDir: out, batchSize, gradientAccumulation, maxSteps: 2, saveEvery: 0, evalEvery: 0, logEvery: 1 },
    callbacks: [{ onStepEnd: () => void (liveBytes = Math.max(liveBytes, tf.memory().numBytes)) }],
    onReady: (info) => {
      row.trainable = info.parameters.trainable;
      const config = parseQwen2Config(JSON.parse(readFileSync(join(info.modelDir, "config.json"), "utf8")), info.modelDir);
      row.estimateGiB = gib(trainingMemoryNeed(config, "lora", { r }, gradientAccumulation).bytes);
    },
  });
  row.status = result.status;
  row.stepTokens = Math.max(...result.steps.map((s) => s.numInputTokens));
  result.lora?.dispose();
  result.model.dispose();
} catch (e) {
  row.error = (e as Error).message.slice(0, 300);
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(JSON.stringify({ ...row, heapGiB: gib(heap()), tfLiveGiB: gib(liveBytes), rssPeakGiB: gib(rssPeak()) }));
