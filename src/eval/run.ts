/**
 * The evaluation run: generate for validation problems in batches, extract and verify the answers
 * (each check under a time limit), score the rewards, and aggregate.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../files/atomic.js";
import { join } from "node:path";
import type { MathExample } from "../data/types.js";
import { AnswerChecker } from "./checker.js";
import {
  countReasoningSteps,
  equationPresenceReward,
  formatReward,
  goldAsLatex,
  reasoningStepsReward,
  stepByStepReward,
  tagCountReward,
  type CorrectnessStatus,
} from "./rewards.js";
import { summarize, type EvalSummary } from "./summary.js";
import { resolveEvalSettings, type EvalSettings, type EvalSettingsInput } from "./settings.js";
import type { Generation, Generator, SampleResult, SampleRewards } from "./types.js";

export type { EvalSamplingOptions, Generation, Generator, SampleResult, SampleRewards } from "./types.js";

export const DEFAULT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}.";

/** The user turn for a problem (OpenR1 / DeepSeek-R1 math prompt). */
export function buildPrompt(example: Pick<MathExample, "problem">, instruction = DEFAULT_INSTRUCTION): string {
  return `${example.problem}\n${instruction}`;
}

/** The evaluation's settings (src/eval/settings.ts) and what a caller hooks in. */
export interface EvalConfig extends EvalSettings {
  instruction: string;
  onProgress?: (done: number, total: number) => void;
  /** Stops after the current batch when aborted (Ctrl-C); the result then holds the problems done so far. */
  signal?: AbortSignal;
  /**
   * Samples of an earlier, interrupted evaluation with the same settings: kept, and generation goes on after them.
   * Only whole batches that match the first problems are used (sampling seeds are per batch).
   */
  previous?: SampleResult[];
  /** Called with each batch's scored samples as soon as they exist (to save them as they come). */
  onBatch?: (samples: SampleResult[]) => void;
}

/** What `evaluate()` takes: any evaluation setting (the rest default) and the hooks; another key is refused. */
export type EvalConfigInput = EvalSettingsInput & Partial<Omit<EvalConfig, keyof EvalSettings>>;

export const DEFAULT_EVAL_CONFIG: EvalConfig = { ...resolveEvalSettings({}), instruction: DEFAULT_INSTRUCTION };

/** Settings checked and defaulted (src/eval/settings.ts), the hooks kept. */
export function resolveEvalConfig(config: EvalConfigInput = {}): EvalConfig {
  const { instruction = DEFAULT_INSTRUCTION, onProgress, signal, previous, onBatch, ...settings } = config;
  return { ...resolveEvalSettings(settings), instruction, onProgress, signal, previous, onBatch };
}

export interface EvalResult {
  samples: SampleResult[];
  summary: EvalSummary;
  /** True when stopped by the signal before every problem was evaluated. */
  interrupted?: boolean;
}

/** How many of `previous` an evaluation of `chosen` keeps: whole batches whose problems are the first ones, in order. */
export function usablePrevious(previous: SampleResult[], chosen: MathExample[], batchSize: number): number {
  let n = 0;
  while (n < previous.length && n < chosen.length && previous[n]!.id === chosen[n]!.id) n++;
  return n === chosen.length ? n : n - (n % batchSize);
}

/** Scores one generation against its example (the checker must be started). */
export function scoreGeneration(example: MathExample, gen: Generation, checker: AnswerChecker): SampleResult {
  const check = checker.checkStarted(goldAsLatex(example.answer), gen.text, { boxedPriority: 0 });
  const status: CorrectnessStatus = check.timedOut ? "incorrect" : !check.goldParsed ? "unscorable" : check.correct ? "correct" : "incorrect";
  const acc = checker.accuracyStarted(gen.text, goldAsLatex(example.answer));
  const rewards: SampleRewards = {
    correctness: status === "unscorable" ? null : status === "correct" ? 1 : 0,
    accuracy: acc.timedOut ? 0 : (acc.reward ?? null),
    format: formatReward(gen.text),
    tagCount: tagCountReward(gen.text),
    reasoningSteps: reasoningStepsReward(gen.text),
    equations: equationPresenceReward(gen.text),
    stepByStep: stepByStepReward(gen.text),
  };
  return {
    id: example.id,
    problem: example.problem,
    problemType: example.problemType,
    gold: example.answer,
    prediction: gen.text,
    extracted: check.predExtracted,
    status,
    correct: status === "unscorable" ? null : status === "correct",
    timedOut: check.timedOut,
    rewards,
    steps: countReasoningSteps(gen.text),
    numTokens: gen.numTokens,
    finishReason: gen.finishReason,
    hasBoxed: /\\boxed\s*\{/.test(gen.text),
    truncated: gen.finishReason === "length",
  };
}

/** Generates for `examples` in batches and scores every completion. */
export async function evaluate(generator: Generator, examples: MathExample[], config: EvalConfigInput = {}): Promise<EvalResult> {
  const c = resolveEvalConfig(config);
  const chosen = c.numProblems === null ? examples : examples.slice(0, c.numProblems);
  const checker = new AnswerChecker({ timeoutMs: c.checkTimeoutMs });
  const samples: SampleResult[] = c.previous ? c.previous.slice(0, usablePrevious(c.previous, chosen, c.batchSize)) : [];
  const t0 = performance.now();
  let interrupted = false;
  try {
    await checker.start();
    for (let i = samples.length; i < chosen.length; i += c.batchSize) {
      if (c.signal?.aborted) {
        interrupted = true;
        break;
      }
      const batch = chosen.slice(i, i + c.batchSize);
      const gens = await generator.generate(
        batch.map((e) => buildPrompt(e, c.instruction)),
        { maxNewTokens: c.maxNewTokens, temperature: c.temperature, topP: c.topP, seed: c.seed + i },
      );
      if (gens.length !== batch.length) throw new Error(`evaluate: generator ${generator.name} returned ${gens.length} completions for ${batch.length} prompts`);
      const scored: SampleResult[] = [];
      for (let j = 0; j < batch.length; j++) {
        await checker.start(); // restarts the worker if a timeout killed it
        scored.push(scoreGeneration(batch[j]!, gens[j]!, checker));
      }
      samples.push(...scored);
      c.onBatch?.(scored);
      c.onProgress?.(samples.length, chosen.length);
      // Generation is synchronous work: let a signal handler run before the next batch.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    checker.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { samples, summary: summarize(generator.name, samples, seconds), ...(interrupted ? { interrupted } : {}) };
}

/** Scored samples saved one per line; a line cut short by a crash ends the list. */
export function readSamplesFile(path: string): SampleResult[] {
  if (!existsSync(path)) return [];
  const samples: SampleResult[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      samples.push(JSON.parse(line) as SampleResult);
    } catch {
      break;
    }
  }
  return samples;
}

/** The results `saveResults` wrote under `dir` for `name`, or undefined when they are not both there. */
export function readResults(dir: string, name: string): EvalResult | undefined {
  const summary = join(dir, `${name}.summary.json`);
  const samples = join(dir, `${name}.samples.jsonl`);
  if (!existsSync(summary) || !existsSync(samples)) return undefined;
  return { samples: readSamplesFile(samples), summary: JSON.parse(readFileSync(summary, "utf8")) as EvalSummary };
}

/** Writes `<name>.samples.jsonl` and `<name>.summary.json` under `dir`; returns the two paths. */
export function saveResults(dir: string, name: string, result: EvalResult): { samples: string; summary: string } {
  mkdirSync(dir, { recursive: true });
  const samples = join(dir, `${name}.samples.jsonl`);
  const summary = join(dir, `${name}.summary.json`);
  writeFileAtomic(samples, result.samples.map((s) => JSON.stringify(s)).join("\n") + (result.samples.length ? "\n" : ""));
  writeFileAtomic(summary, JSON.stringify(result.summary, null, 2) + "\n");
  return { samples, summary };
}
