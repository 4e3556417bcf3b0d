import { join } from "node:path";
import type { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { readExamples } from "../data/read-split.js";
import { interruptController } from "../train/interrupt.js";
import { compareSummaries } from "../eval/summary.js";
import { evaluate, saveResults, type EvalResult, type Generator } from "../eval/run.js";
import { evaluationSettings, type EvalSettings } from "../eval/settings.js";
import { addOptions, settingOption } from "./setting-option.js";
import { scoreFile } from "../eval/score-file.js";
import type { MatchType } from "../eval/index.js";

/** How `evaluate` turns a model directory (+ optional LoRA adapter) into a Generator; supplied by the lead's wiring. */
export type GeneratorFactory = (spec: { model: string; adapter?: string; label: string }) => Promise<Generator>;

export interface EvalCommandDeps {
  /** Default: loadModelGenerator (local dir, Hub id, "tiny-math" or "random-small", optional LoRA adapter). */
  loadGenerator?: GeneratorFactory;
  /** Where result lines go (default: stdout). */
  print?: (line: string) => void;
}

function int(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

interface ScoreOptions {
  matchTypes?: string;
  precision?: string;
  strict: boolean;
  allowSetRelationComp?: boolean;
  timeoutMs: string;
}

/** The evaluation settings `openr1 evaluate` takes, with their flags (the pipeline's `eval` section and seed). */
export const EVALUATE_SETTINGS: { key: keyof EvalSettings; flag: string; path: string }[] = [
  { key: "numProblems", flag: "limit", path: "eval.numProblems" },
  { key: "batchSize", flag: "batch-size", path: "eval.batchSize" },
  { key: "maxNewTokens", flag: "max-new-tokens", path: "eval.maxNewTokens" },
  { key: "temperature", flag: "temperature", path: "eval.temperature" },
  { key: "topP", flag: "top-p", path: "eval.topP" },
  { key: "seed", flag: "seed", path: "seed" },
  { key: "checkTimeoutMs", flag: "timeout-ms", path: "eval.checkTimeoutMs" },
];

/** The evaluation settings of a parsed `openr1 evaluate` command line (each flag already checked by its setting). */
export function evaluateCommandSettings(command: Command): EvalSettings {
  const o = command.opts();
  const attribute = (flag: string) => command.options.find((option) => option.long === `--${flag}`)!.attributeName();
  return Object.fromEntries(EVALUATE_SETTINGS.map((s) => [s.key, o[attribute(s.flag)]])) as EvalSettings;
}

interface EvaluateOptions {
  model: string;
  adapter?: string;
  baseModel?: string;
  data: string;
  out: string;
  endpoint?: string;
  apiKey?: string;
  concurrency: string;
  fresh?: boolean;
}

/** `score FILE.jsonl` (no model needed) and `evaluate` (generate + score; needs a Generator factory). */
export function registerEvalCommands(program: Command, deps: EvalCommandDeps = {}): void {
  const print = deps.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  program
    .command("score")
    .description(
      "Score a jsonl of {gold, pred[, match_types, precision, strict, allow_set_relation_comp]} with Math-Verify semantics: one JSON line per input, then a summary line",
    )
    .argument("<file>", "jsonl file, one object per line")
    .option("--match-types <list>", 'default extraction targets for lines without match_types ("latex,expr")')
    .option("--precision <digits>", "default rounding digits for lines without precision (6)")
    .option("--no-strict", "default strict=false for lines without strict")
    .option("--allow-set-relation-comp", "default allow_set_relation_comp=true for lines without it")
    .option("--timeout-ms <ms>", "time limit per comparison", "5000")
    .action(async (file: string, o: ScoreOptions) => {
      const defaults: { match_types?: MatchType[]; precision?: number; strict?: boolean; allow_set_relation_comp?: boolean } = {};
      if (o.matchTypes !== undefined) {
        const types = o.matchTypes.split(",").map((t) => t.trim());
        if (!types.length || types.some((t) => t !== "latex" && t !== "expr")) throw new Error(`--match-types must list "latex" and/or "expr", got "${o.matchTypes}"`);
        defaults.match_types = types as MatchType[];
      }
      if (o.precision !== undefined) defaults.precision = int("precision", o.precision, 0);
      if (!o.strict) defaults.strict = false;
      if (o.allowSetRelationComp) defaults.allow_set_relation_comp = true;
      const summary = await scoreFile(file, (line) => print(JSON.stringify(line)), {
        timeoutMs: int("timeout-ms", o.timeoutMs, 1),
        defaults,
      });
      print(JSON.stringify(summary));
    });

  const evaluateCommand = program
    .command("evaluate")
    .description("Generate for validation problems, verify the answers and score the rewards; with --base-model, base vs fine-tuned side by side")
    .requiredOption("--model <dir>", 'model to evaluate: HF-layout directory, Hub id, "tiny-math" (shipped) or "random-small"; with --endpoint, the served model\'s name')
    .option("--endpoint <url>", "generate through an OpenAI-compatible server (vLLM, llama.cpp, openr1 serve), e.g. http://127.0.0.1:8000/v1")
    .option("--api-key <key>", "bearer token for --endpoint (default: $OPENAI_API_KEY)")
    .option("--concurrency <n>", "requests in flight at once with --endpoint", "4")
    .option("--fresh", "with --endpoint: an answer cache (<out>/<label>.completions.jsonl) made by another server, model or settings is moved aside and filled anew, instead of refused")
    .option("--adapter <dir>", "LoRA adapter (PEFT layout) applied to --model")
    .option("--base-model <dir>", "also evaluate this model (directory, Hub id, tiny-math or random-small) and print both side by side")
    .requiredOption("--data <file>", "validation jsonl written by `openr1 data`");
  for (const s of EVALUATE_SETTINGS) addOptions(evaluateCommand, settingOption(s.flag, evaluationSettings.shape[s.key], s.path));
  evaluateCommand
    .option("--out <dir>", "where samples jsonl + summary json go", "runs/eval")
    .action(async (o: EvaluateOptions) => {
      const examples = readExamples(o.data);
      const config = evaluateCommandSettings(evaluateCommand);
      const interrupt = interruptController({ what: "the current batch" });
      if (o.endpoint && o.adapter) throw new Error("--adapter applies to a local model: with --endpoint, serve the adapter (openr1 serve MODEL --adapter DIR, or vLLM's --lora-modules) and pass its name as --model");
      const concurrency = int("concurrency", o.concurrency, 1);
      if (o.endpoint) config.batchSize = Math.max(config.batchSize, concurrency);
      // Loaded on use: the model stack (TensorFlow.js) or the OpenAI client, not both, and neither for `score`.
      const load = async (label: string, model: string, adapter?: string): Promise<{ generator: Generator; report?: () => string }> => {
        if (o.endpoint) {
          const { cacheReport, endpointGenerator } = await import("../eval/endpoint-generator.js");
          const generator = endpointGenerator(label, { baseUrl: o.endpoint, model, apiKey: o.apiKey, concurrency, cacheFile: join(o.out, `${label}.completions.jsonl`), fresh: o.fresh });
          return { generator, report: () => cacheReport(label, generator.stats) };
        }
        return { generator: await (deps.loadGenerator ?? (await import("../eval/model-generator.js")).loadModelGenerator)({ model, adapter, label }) };
      };
      const run = async (label: string, model: string, adapter?: string): Promise<EvalResult> => {
        const { generator, report } = await load(label, model, adapter);
        const total = config.numProblems === null ? examples.length : Math.min(config.numProblems, examples.length);
        const bar = new SingleBar({ format: `${label} |{bar}| {value}/{total} problems | {eta_formatted} left`, stream: process.stderr }, Presets.shades_classic);
        bar.start(total, 0);
        try {
          const result = await evaluate(generator, examples, { ...config, signal: interrupt.signal, onProgress: (done) => bar.update(done) });
          const paths = saveResults(o.out, label, result);
          const partly = result.interrupted ? ` on the first ${result.samples.length} of ${total} problems (interrupted)` : "";
          process.stderr.write(`\n${label}: accuracy ${(100 * result.summary.accuracy).toFixed(1)}%${partly} → ${paths.summary}\n`);
          if (report) process.stderr.write(`${report()}\n`);
          return result;
        } finally {
          bar.stop();
        }
      };
      try {
        const tuned = await run("tuned", o.model, o.adapter);
        if (interrupt.signal.aborted) {
          process.exitCode = 130;
          return;
        }
        if (o.baseModel) {
          const base = await run("base", o.baseModel);
          if (interrupt.signal.aborted) process.exitCode = 130;
          else for (const row of compareSummaries(base.summary, tuned.summary)) print(JSON.stringify(row));
        }
      } finally {
        interrupt.dispose();
      }
    });
}
