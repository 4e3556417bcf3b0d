import type { Command } from "commander";
import { splitSettings } from "../data/split.js";
import { seedSetting } from "../settings.js";
import { settingOption } from "./setting-option.js";
import {
  dataSourceFrom,
  describeSource,
  formatFilterReport,
  OPENR1_REVISION,
  prepareSplitFiles,
  type FilterOptions,
  type OpenR1Config,
} from "../data/index.js";


interface DataCommandOptions {
  source: string;
  config: string;
  revision: string;
  limit?: string;
  validation: number;
  seed: number;
  stratify: boolean;
  verifiedCorrect: boolean;
  completeReasoning: boolean;
  nonEmptyAnswer: boolean;
  dedupe: boolean;
  maxProblemChars?: string;
  maxSolutionChars?: string;
  cacheDir?: string;
  offline?: boolean;
  out: string;
}

function positive(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? "integer" : "number"}, got "${value}"`);
  return n;
}

/** `data`: load OpenR1-Math-220k (embedded sample, Hub or a local path), filter, split, write jsonl + the report. */
export function registerDataCommands(program: Command): void {
  program
    .command("data")
    .description("Load OpenR1-Math-220k, filter it, split it, and write train/validation jsonl with the filter report")
    .option("--source <source>", '"embedded" (54 real rows), "generated" (the default pipeline\'s problems), "hub", or a local .parquet/.jsonl file or directory', "embedded")
    .option("--config <name>", "Hub config: default, extended or all", "default")
    .option("--revision <rev>", "Hub revision (a commit keeps the data reproducible)", OPENR1_REVISION)
    .option("--limit <rows>", "rows to read before filtering (default: all)")
    // The split's settings (src/data/split.ts), read as `openr1 run --set data.validation` / `seed` reads them; this
    // command's own default size, a fraction, suits any data set it may load.
    .addOption(settingOption("validation", splitSettings.shape.validation.default(0.05), "data.validation", "size")[0]!)
    .addOption(settingOption("seed", seedSetting, "seed")[0]!)
    .option("--stratify", "keep each problem_type's share equal in train and validation", false)
    .option("--no-verified-correct", "keep rows without a Math-Verify-correct generation")
    .option("--no-complete-reasoning", "keep rows without a complete (verified) reasoning trace")
    .option("--no-non-empty-answer", "keep rows with an empty answer")
    .option("--no-dedupe", "keep repeated problems")
    .option("--max-problem-chars <n>", "drop rows whose problem is longer")
    .option("--max-solution-chars <n>", "drop rows whose reference solution is longer")
    .option("--cache-dir <dir>", "Hub cache (default: HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)")
    .option("--offline", "use only cached Hub files (like HF_HUB_OFFLINE=1)")
    .option("--out <dir>", "output directory", "runs/data")
    .action(async (opts: DataCommandOptions) => {
      try {
        if (!["default", "extended", "all"].includes(opts.config)) throw new Error(`--config must be default, extended or all, got "${opts.config}"`);
        const source = dataSourceFrom(opts.source, { config: opts.config as OpenR1Config, revision: opts.revision });
        if (source.kind === "hub") Object.assign(source, { cacheDir: opts.cacheDir, offline: opts.offline ? true : undefined });
        const filters: FilterOptions = {
          verifiedCorrect: opts.verifiedCorrect,
          completeReasoning: opts.completeReasoning,
          nonEmptyAnswer: opts.nonEmptyAnswer,
          dedupe: opts.dedupe,
          maxProblemChars: positive("max-problem-chars", opts.maxProblemChars, true) ?? null,
          maxSolutionChars: positive("max-solution-chars", opts.maxSolutionChars, true) ?? null,
        };
        console.error(`Loading ${describeSource(source)} …`);
        // Streamed: the full dataset's split never sits in memory, nor any output file in one string.
        const written = await prepareSplitFiles(source, opts.out, {
          limit: positive("limit", opts.limit, true),
          filters,
          split: { validation: opts.validation, seed: opts.seed, stratify: opts.stratify },
        });
        console.log(formatFilterReport(written.report));
        console.log(`train: ${written.counts.train} examples -> ${written.paths.train}`);
        console.log(`validation: ${written.counts.validation} examples -> ${written.paths.validation}`);
      } catch (err) {
        console.error(`error: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    });
}
