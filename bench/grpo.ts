/**
 * GRPO steps on the shipped model (src/rl): each step samples promptsPerStep × numGenerations completions in one
 * KV-cached `generate` call, scores them (accuracy reward, in the checker's worker) and takes one optimizer step over
 * them. Reported: sampled tokens/s (completion tokens over the generation's wall time), train tokens/s (prompt +
 * completion tokens of the forward/backward passes over their wall time), seconds per step (median of the steps
 * after the first), the split of a step between sampling, scoring and training, and the process's peak RSS.
 * The pipeline's RL stage settings (profiles.default.rl) on its generated problems, from the shipped base model.
 *
 * Run alone: node --import tsx bench/grpo.ts [--quick]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { selectBackend } from "../src/backend.js";
import { dataSourceFrom, prepareDataset } from "../src/data/index.js";
import { LoraModel } from "../src/model/lora.js";
import { TINY_MATH_MODEL_DIR } from "../src/model/load.js";
import { Qwen2Model } from "../src/model/qwen2.js";
import { profiles } from "../src/pipeline/config.js";
import { trainGrpo } from "../src/rl/trainer.js";
import { loadTokenizer } from "../src/tokenizer/index.js";

export interface GrpoBenchRow {
  model: string;
  promptsPerStep: number;
  numGenerations: number;
  steps: number;
  meanPromptTokens: number;
  meanCompletionTokens: number;
  sampledTokensPerSecond: number;
  trainTokensPerSecond: number;
  secondsPerStep: number;
  /** Share of a step's wall time spent generating the group (the rest: scoring, the forward/backward pass, the update). */
  sampling: number;
  peakRssMiB: number;
  backend: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The benchmark in this process. */
export async function benchGrpoStep(opts: { steps: number }): Promise<GrpoBenchRow> {
  const backend = await selectBackend();
  const d = profiles.default;
  const data = await prepareDataset(dataSourceFrom(d.data.source), { filters: { ...d.data.filters, maxProblemChars: undefined, maxSolutionChars: undefined }, split: { validation: d.data.validation, seed: d.seed } });
  const model = await Qwen2Model.fromDirectory(TINY_MATH_MODEL_DIR);
  const lora = LoraModel.create(model, d.lora, d.seed);
  const dir = mkdtempSync(join(tmpdir(), "bench-grpo-"));
  try {
    const { enabled: _e, method: _m, ...rl } = d.rl;
    const generationSeconds: number[] = [];
    const res = await trainGrpo({
      model, trainable: lora, tokenizer: loadTokenizer(TINY_MATH_MODEL_DIR), train: data.split.train,
      config: { ...rl, maxSteps: opts.steps, saveEvery: 0, logEvery: 1000, outputDir: dir },
      callbacks: [{ onGenerationBatch: (b) => void generationSeconds.push(b.generationSeconds) }],
    });
    const timed = res.steps.slice(1);
    const m = (k: string) => median(timed.map((s) => s.metrics[k]!));
    const step = m("step_time");
    // One generation batch per step (numIterations 1): step k's sampling time is generationSeconds[k].
    const sampling = median(timed.map((s, i) => generationSeconds[i + 1]! / s.seconds));
    const batch = res.lastBatch!;
    const promptTokens = batch.completions.reduce((n, c) => n + c.promptIds.length, 0) / batch.completions.length;
    return {
      model: "tiny-math (shipped base, LoRA r=16)", promptsPerStep: rl.promptsPerStep, numGenerations: rl.numGenerations, steps: opts.steps,
      meanPromptTokens: +promptTokens.toFixed(1), meanCompletionTokens: +m("completions/mean_length").toFixed(1),
      sampledTokensPerSecond: Math.round(m("sampled_tokens_per_second")), trainTokensPerSecond: Math.round(m("train_tokens_per_second")),
      secondsPerStep: +step.toFixed(2), sampling: +sampling.toFixed(2),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), backend: backend.source,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    lora.dispose();
    model.dispose();
  }
}

/** bench/grpo.ts in a child process (its peak RSS is its own). */
export function runGrpoBench(opts: { quick?: boolean } = {}): GrpoBenchRow | { error: string } {
  const script = fileURLToPath(import.meta.url);
  try {
    const out = execFileSync(process.execPath, ["--import", "tsx", script, "--child", ...(opts.quick ? ["--quick"] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(out.split("\n").filter((l) => l.startsWith("{")).at(-1)!) as GrpoBenchRow;
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? "").trim().split("\n").filter((l) => l.length < 300);
    return { error: stderr.at(-1) ?? (e as Error).message.split("\n")[0]! };
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const steps = process.argv.includes("--quick") ? 3 : 6;
  const row = await benchGrpoStep({ steps });
  if (process.argv.includes("--child")) console.log(JSON.stringify(row));
  else console.table([row]);
}
