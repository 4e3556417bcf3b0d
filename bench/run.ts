/**
 * `npm run bench`: one table of what matters on this machine, each model workload in its own process so
 * that its peak RSS is its own — generation (prefill, decode with the KV cache at batch 1 and 8) and LoRA
 * optimizer steps (the loss they reach, the tokens/s of the median step after the first) for the small offline model, the small config issue 8 compares with PyTorch and the
 * Qwen2.5-0.5B shape (random weights), then answer-checking throughput and `openr1 serve` beside in-process generation.
 *
 * Options: --quick (shorter workloads), --only=small|0.5b (model workloads), --only=grpo (the GRPO step row alone),
 * --kernels (also bench/kernels.ts), --write=FILE (the table as markdown into FILE between its bench markers: docs/benchmarks.md),
 * --backend NAME (auto, webgpu, wasm, …: the model workloads' tfjs backend; webgpu adds bench/gpu.ts's matmul
 * TFLOP/s and the GPU-sized LoRA steps).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { BACKEND_PREFERENCES, type BackendPreference } from "../src/backend-names.js";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { runDataBench } from "./data.js";
import { runEvalBench, scoreStartupSeconds } from "./eval.js";
import { runLongPromptServeBench, runServeBench } from "./serve.js";
import { benchKernels } from "./kernels.js";
import { runTrainBench } from "./train.js";
import { runGrpoBench, type GrpoBenchRow } from "./grpo.js";
import { gpuMatMulBench } from "./gpu.js";
import { findWebGpuAdapter } from "../src/webgpu.js";

interface Row {
  model: string;
  workload: string;
  shape: string;
  throughput: string;
  peakRssMiB: number | string;
}

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const backendArg = args.find((a) => a.startsWith("--backend="))?.slice(10) ?? (args.includes("--backend") ? args[args.indexOf("--backend") + 1] : undefined);
if (backendArg !== undefined) {
  if (!BACKEND_PREFERENCES.includes(backendArg as BackendPreference)) throw new Error(`--backend must be one of ${BACKEND_PREFERENCES.join(", ")}`);
  process.env.OPENR1_BACKEND = backendArg; // the model and training workloads run in child processes: they inherit it
}
const gpu = backendArg === "webgpu";
let only = args.find((a) => a.startsWith("--only="))?.slice(7) as "small" | "0.5b" | "grpo" | undefined;
let note = "";
if (gpu) {
  const found = await findWebGpuAdapter();
  if ("why" in found) throw new Error(`--backend webgpu: ${found.why}`);
  if (found.adapter.fallback && only !== "0.5b") {
    // A software adapter does a few GFLOP/s: the 0.5B shape would take hours a step.
    only = "small";
    note = ` (${found.adapter.description} is a software adapter: the 0.5B rows are left out; --only=0.5b runs them)`;
  }
}
const rows: Row[] = [];
let backend = "";

/** The GRPO step row: sampling, scoring and the optimizer step on the pipeline's RL settings. */
function grpoRow(r: GrpoBenchRow | { error: string }): Row {
  if ("error" in r) return { model: "tiny-math", workload: "GRPO step", shape: "", throughput: `error: ${r.error}`, peakRssMiB: "" };
  return {
    model: r.model,
    workload: `GRPO step (${r.steps} steps; sampling the group ${Math.round(100 * r.sampling)}% of a step, scoring and training the rest)`,
    shape: `${r.promptsPerStep} prompts × ${r.numGenerations} completions, ${r.meanPromptTokens} + ${r.meanCompletionTokens} tokens`,
    throughput: `${r.secondsPerStep} s/step; sampled ${r.sampledTokensPerSecond} tokens/s, trained ${r.trainTokensPerSecond} tokens/s`,
    peakRssMiB: r.peakRssMiB,
  };
}

if (only === "grpo") {
  rows.push(grpoRow(runGrpoBench({ quick })));
  console.log(`\nmachine: ${cpus()[0]?.model ?? "unknown"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}`);
  console.table(rows);
  process.exit(0);
}

/** " — PyTorch N (ratio×), RSS MiB" for a row measured against PyTorch too (or why PyTorch did not complete it). */
function torchColumn(r: { tokensPerSecond?: unknown; reference?: unknown; referenceError?: unknown }): string {
  const ref = r.reference as { tool?: string; tokensPerSecond: number; peakRssMiB: number; coresBusy?: number } | undefined;
  if (!ref) return r.referenceError ? ` — PyTorch: ${r.referenceError}` : "";
  const cores = ref.coresBusy === undefined ? "" : `, ${ref.coresBusy} cores busy`;
  const checkpointing = ref.tool?.includes("checkpointing") ? " with gradient checkpointing" : "";
  return ` — PyTorch${checkpointing} ${ref.tokensPerSecond}${cores} (${(Number(r.tokensPerSecond) / ref.tokensPerSecond).toFixed(2)}×), ${ref.peakRssMiB} MiB`;
}

/** "; time: layers: attention 12 %, …" from a training row's shares of its wall time. */
function timeColumn(shares: Record<string, number> | undefined): string {
  if (!shares) return "";
  return `; time: ${Object.entries(shares).map(([k, v]) => `${k} ${Math.round(100 * v)} %`).join(", ")}`;
}

/**
 * The run's table as markdown into `file`, between the markers `<!-- bench:start -->` and `<!-- bench:end -->` (the
 * rest of the file, prose written by a maintainer, is kept; a file without them gets the table appended).
 */
function writeBenchmarkTable(file: string, machine: string, table: Row[]): void {
  const cell = (v: unknown) => String(v).replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = [
    "<!-- bench:start -->",
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench${quick ? " -- --quick" : ""}\` on ${machine}.`,
    "",
    "| model | workload | shape | throughput | peak RSS (MiB) |",
    "|---|---|---|---|---|",
    ...table.map((r) => `| ${[r.model, r.workload, r.shape, r.throughput, r.peakRssMiB].map(cell).join(" | ")} |`),
    "<!-- bench:end -->",
  ].join("\n");
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  const start = old.indexOf("<!-- bench:start -->"), end = old.indexOf("<!-- bench:end -->");
  const next = start >= 0 && end > start ? old.slice(0, start) + lines + old.slice(end + "<!-- bench:end -->".length) : `${old}${old ? "\n\n" : ""}${lines}\n`;
  writeFileSync(file, next);
  console.log(`table written to ${file}`);
}

/** bench/model.ts in a child process: its JSON lines. */
function modelBench(which: "small" | "0.5b"): Record<string, unknown>[] {
  const script = fileURLToPath(new URL("./model.ts", import.meta.url));
  const flags = [`--only=${which}`, ...(quick ? ["--quick"] : [])];
  try {
    const out = execFileSync(process.execPath, ["--import", "tsx", script, ...flags], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 });
    return out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? "").trim().split("\n").filter((l) => l.length < 300);
    return [{ model: which, measure: "model bench", error: stderr.at(-1) ?? (e as Error).message.split("\n")[0] }];
  }
}

for (const which of only ? [only] : (["small", "0.5b"] as const)) {
  for (const r of modelBench(which)) {
    if ("machine" in r) {
      backend = String((r.machine as Record<string, unknown>).backend ?? backend);
      continue;
    }
    // One optimizer step (below, through the trainer) is the training figure; the model bench's fwd+bwd is a detail.
    if (String(r.measure).startsWith("LoRA")) continue;
    if (r.measure === "first use (ORT sessions or GPU shaders built)") {
      rows.push({ model: String(r.model), workload: String(r.measure), shape: "", throughput: `${r.seconds} s`, peakRssMiB: "" });
      continue;
    }
    const shape = r.measure === "prefill" ? `1 × ${r.seq}` : `${r.batch} × (${r.prompt} + ${r.newTokens})`;
    rows.push({
      model: String(r.model),
      workload: String(r.measure),
      shape: r.error ? "" : shape,
      throughput: r.error ? `error: ${r.error}` : `${r.tokensPerSecond} tokens/s${torchColumn(r)}`,
      peakRssMiB: (r.peakRssMiB as number | undefined) ?? "",
    });
  }
}

const trainModels = only === "small" ? (["small", "small-h256"] as const) : only === "0.5b" ? (["0.5b"] as const) : undefined;
for (const r of runTrainBench({ quick, gpu, only: trainModels && [...trainModels] })) {
  rows.push({
    model: r.modelName,
    workload: `LoRA training, ${r.steps} optimizer steps (${r.lora}), loss ${r.losses[0]} → ${r.losses.at(-1)}${(r.rounds ?? 1) > 1 ? `; median of ${r.rounds} runs` : ""}`,
    shape: `${r.batch} × ${r.seq}${r.accumulation > 1 ? ` × ${r.accumulation} accumulated` : ""}`,
    throughput:
      `${r.tokensPerSecond} tokens/s, ${r.coresBusy} cores busy${r.peakGpuMiB === undefined ? "" : `, peak GPU memory ${r.peakGpuMiB} MiB`}` +
      torchColumn(r) + timeColumn(r.timeShares),
    peakRssMiB: r.peakRssMiB,
  });
}
if (only !== "0.5b" && !gpu) rows.push(grpoRow(runGrpoBench({ quick })));
if (gpu) {
  for (const r of await gpuMatMulBench({ quick })) {
    rows.push({ model: "—", workload: "tf.matMul f32 on the GPU", shape: `${r.n} × ${r.n} × ${r.n}`, throughput: `${r.tflops} TFLOP/s`, peakRssMiB: "" });
  }
}

for (const r of await runEvalBench({ rounds: quick ? 1 : 3 })) {
  rows.push({ model: "—", workload: `answer checking (${r.path})`, shape: `${r.cases} cases`, throughput: `${r.casesPerSecond.toFixed(1)} cases/s`, peakRssMiB: "" });
}

for (const d of await runDataBench({ rows: quick ? 20_000 : 93_733 })) {
  rows.push({ model: "—", workload: `${d.tool} on synthetic OpenR1-shaped shards (2 × 6 KB generations a row)`, shape: `${d.rows} rows`, throughput: `${Math.round(d.rowsPerSecond)} rows/s (${d.seconds.toFixed(1)} s)`, peakRssMiB: d.peakRssMiB });
}
rows.push({ model: "—", workload: "`openr1 score` on a one-line file, start to exit", shape: "1 case", throughput: `${scoreStartupSeconds(quick ? 1 : 3).toFixed(2)} s`, peakRssMiB: "" });

if (only !== "0.5b") {
  for (const r of await runServeBench({ requests: quick ? 16 : 32 })) {
    rows.push({ model: "tiny-math", workload: `${r.path}, concurrency ${r.concurrency}`, shape: `${r.requests} requests × ≤ 64 tokens`, throughput: `${r.requestsPerSecond} requests/s, ${r.tokensPerSecond} tokens/s${r.meanBatch === undefined ? "" : `, mean batch ${r.meanBatch}`}`, peakRssMiB: "" });
  }
  const l = await runLongPromptServeBench();
  rows.push({
    model: "tiny-math", workload: `openr1 serve, one long prompt (/v1/completions, ${l.newTokens} new tokens); a short chat request sent ${l.shortAfterSeconds} s into it`, shape: `${l.promptTokens} prompt tokens`,
    throughput: `${l.seconds} s; the short request answered in ${l.shortSeconds} s; server RSS idle ${l.idleRssMiB} MiB, ${l.afterRssMiB} MiB 2 s after`, peakRssMiB: l.peakRssMiB,
  });
}

const machine = `${cpus()[0]?.model ?? "unknown"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; backend: ${backend}${note}`;
console.log(`\nmachine: ${machine}`);
console.table(rows);
const writeTo = args.find((a) => a.startsWith("--write="))?.slice(8);
if (writeTo) writeBenchmarkTable(writeTo, machine, rows);

if (args.includes("--kernels")) await benchKernels({ repeats: quick ? 1 : 3 });
