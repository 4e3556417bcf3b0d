import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import YAML from "yaml";
import { writeFileAtomic } from "../files/atomic.js";
import { readExamples } from "../data/read-split.js";
import { list, string, type SchemaElement } from "../data/write-parquet.js";
import type { MathExample } from "../data/types.js";
import { baseModelReference, TINY_MATH_MODEL, TINY_MATH_MODEL_DIR } from "../model/load.js";
import { pipelineConfigSchema, type PipelineConfig } from "../pipeline/config.js";
import { parseSettings } from "../settings.js";
import { loadTokenizer, type ChatTurn, type Tokenizer } from "../tokenizer/index.js";
import { promptMessages, targetText } from "../data/prompt.js";
import { tokenizeExamples } from "../train/format.js";
import { totalTrainingSteps, warmupStepsFromRatio } from "../train/schedule.js";

export interface TrlExport {
  dir: string;
  train: { path: string; rows: number };
  test: { path: string; rows: number };
  recipe: string;
  launch: string;
  /** Things the user must know before launching (e.g. examples that TRL cuts differently). */
  warnings: string[];
}

/** One conversational prompt/completion row, the layout TRL 0.18 and 1.x both train on the completion only. */
export interface PromptCompletion {
  prompt: ChatTurn[];
  completion: ChatTurn[];
}

const turns = (name: string) => list(name, [{ name: "element", repetition_type: "OPTIONAL", num_children: 2 }, string("role"), string("content")]);
/** `prompt` and `completion`: list<struct<role: string, content: string>> each, in pyarrow's LIST layout. */
const PROMPT_COMPLETION_SCHEMA: SchemaElement[] = [{ name: "root", num_children: 2 }, ...turns("prompt"), ...turns("completion")];

export const TRAIN_FILE = "data/train-00000-of-00001.parquet";
export const TEST_FILE = "data/test-00000-of-00001.parquet";
const EXPORT_FILES = new Set(["data", TRAIN_FILE, TEST_FILE, "recipe.yaml", "launch.sh"]);
/** The recipe's output_dir, relative: TRL's checkpoints when `trl sft` runs in the export folder (never touched here). */
const OUTPUT_DIR = "output";

/**
 * The examples the project trains on, as prompt (system, user) and completion (the assistant target). TRL renders
 * both with the chat template and computes the loss on the completion only: exactly the project's labels (the
 * prompt through "<|im_start|>assistant\n" masked), unless an example was cut to fit the length limit.
 */
export function promptCompletionRows(examples: MathExample[], config: PipelineConfig, tokenizer: Tokenizer): { rows: PromptCompletion[]; truncated: number } {
  const { examples: kept, report } = tokenizeExamples(examples, tokenizer, config.train);
  const byId = new Map(examples.map((e) => [e.id, e]));
  const rows = kept.map(({ id }) => {
    const e = byId.get(id)!;
    return { prompt: promptMessages(e.problem), completion: [{ role: "assistant" as const, content: targetText(e, config.train.target)! }] };
  });
  return { rows, truncated: report.truncated };
}

function parquet(rows: PromptCompletion[]): Uint8Array {
  const pick = (turns: ChatTurn[]) => turns.map(({ role, content }) => ({ role, content }));
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: "prompt", data: rows.map((r) => pick(r.prompt)) },
        { name: "completion", data: rows.map((r) => pick(r.completion)) },
      ],
      schema: PROMPT_COMPLETION_SCHEMA,
    }),
  );
}

export interface RecipeOptions {
  /** Where the exported folder will be on the training machine (dataset_name). */
  datasetPath: string;
  /** model_name_or_path: a Hub id, or a local folder. */
  model: { nameOrPath: string; revision: string | null };
  /** Examples in the exported train split: with the batch settings they give the run's optimizer steps. */
  trainExamples: number;
}

/**
 * The run's training settings for open-r1's sft.py (TRL 0.18, transformers 4.52) and `trl sft` (TRL 1.x,
 * transformers 5) alike: every key is a field both read, with the meaning the project gives it (checked field by
 * field in tests/export/trl.test.ts). Left out on purpose: the weights' dtype (torch_dtype in TRL 0.18, dtype from
 * 0.23; both default to float32 master weights, which bf16 then autocasts), warmup_ratio (gone in transformers 5:
 * warmup_steps counts the same steps), assistant_only_loss (TRL ≥ 0.19; the prompt/completion split does its job)
 * and open-r1's wandb_* fields (the `env` block sets W&B's variables in both).
 */
export function trlRecipe(config: PipelineConfig, options: RecipeOptions): Record<string, unknown> {
  const t = config.train;
  const steps = totalTrainingSteps(options.trainExamples, t);
  const schedule =
    t.schedule === "linear" ? { lr_scheduler_type: "linear" }
    : t.schedule === "constant" ? { lr_scheduler_type: "constant_with_warmup" }
    : t.minLrRatio > 0 ? { lr_scheduler_type: "cosine_with_min_lr", lr_scheduler_kwargs: { min_lr_rate: t.minLrRatio } }
    : { lr_scheduler_type: "cosine" };
  const wandb = config.tracking.mode !== "disabled";
  return {
    // Model (TRL ModelConfig)
    model_name_or_path: options.model.nameOrPath,
    ...(options.model.revision ? { model_revision: options.model.revision } : {}),
    ...(t.method === "lora"
      ? {
          use_peft: true,
          lora_r: config.lora.r,
          lora_alpha: config.lora.alpha,
          lora_dropout: config.lora.dropout,
          lora_target_modules: config.lora.targetModules,
          use_rslora: config.lora.useRslora,
          lora_task_type: "CAUSAL_LM",
        }
      : {}),
    // Data (ScriptArguments): the exported folder, read by datasets.load_dataset(dataset_name)
    dataset_name: options.datasetPath,
    dataset_train_split: "train",
    dataset_test_split: "test",
    // SFT (SFTConfig, TrainingArguments)
    eos_token: "<|im_end|>",
    completion_only_loss: true,
    packing: false,
    max_length: t.maxSeqLength,
    bf16: true,
    gradient_checkpointing: true,
    gradient_checkpointing_kwargs: { use_reentrant: false },
    learning_rate: t.learningRate,
    ...schedule,
    warmup_steps: warmupStepsFromRatio(t.warmupRatio, steps),
    weight_decay: t.weightDecay,
    adam_beta1: t.beta1,
    adam_beta2: t.beta2,
    adam_epsilon: t.eps,
    max_grad_norm: t.maxGradNorm,
    per_device_train_batch_size: t.batchSize,
    gradient_accumulation_steps: t.gradientAccumulation,
    per_device_eval_batch_size: t.batchSize,
    num_train_epochs: t.epochs,
    max_steps: steps,
    do_eval: true,
    // evalEvery 0 (at the end only) and saveEvery 0 (never): no periodic evaluation or checkpoint; open-r1's sft.py
    // evaluates (do_eval) and saves the model at the end either way.
    ...(t.evalEvery > 0 ? { eval_strategy: "steps", eval_steps: t.evalEvery } : { eval_strategy: "no" }),
    logging_strategy: "steps",
    logging_steps: t.logEvery,
    ...(t.saveEvery > 0 ? { save_strategy: "steps", save_steps: t.saveEvery } : { save_strategy: "no" }),
    save_total_limit: t.keepCheckpoints,
    seed: config.seed,
    output_dir: `${OUTPUT_DIR}/${config.runName ?? config.profile}`,
    run_name: config.runName ?? config.profile,
    report_to: wandb ? ["wandb"] : ["none"],
    ...(wandb ? { env: { WANDB_PROJECT: config.tracking.project, ...(config.tracking.entity ? { WANDB_ENTITY: config.tracking.entity } : {}) } } : {}),
  };
}

/**
 * YAML as PyYAML reads it back (YAML 1.1: TrlParser uses yaml.safe_load): strings 1.1 would take for booleans or
 * numbers ("no", "on", "0755") quoted, and floats written with a decimal point and a signed exponent, since PyYAML
 * reads "1e-8" as the string "1e-8".
 */
export function toPyYaml(value: unknown): string {
  return YAML.stringify(value, { version: "1.1" }).replace(
    /^(\s*(?:[\w.-]+:|-) )(-?\d+)(?:\.(\d+))?e([+-]?)(\d+)$/gm,
    (_, lead: string, int: string, frac: string | undefined, sign: string, exp: string) => `${lead}${int}.${frac ?? "0"}e${sign || "+"}${exp}`,
  );
}

function launchScript(): string {
  return [
    "#!/usr/bin/env bash",
    "# Trains the exported run with open-r1 (TRL 0.18) on this machine's GPUs. Run it from a checkout of",
    "# https://github.com/huggingface/open-r1 (pip install -e \".[dev]\"): bash /path/to/this/folder/launch.sh",
    "# One node, DeepSpeed ZeRO-2 (recipes/accelerate_configs/ also has ddp, zero3, fsdp). The recipe's batch is the",
    "# project's on one process: with N GPUs, divide gradient_accumulation_steps by N to keep it.",
    "# Without open-r1, TRL alone reads the same file: trl sft --config /path/to/this/folder/recipe.yaml",
    "set -euo pipefail",
    'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
    'RECIPE="${RECIPE:-$HERE/recipe.yaml}"',
    'if [ ! -f src/open_r1/sft.py ]; then echo "launch.sh: run it from an open-r1 checkout (src/open_r1/sft.py not found in $PWD)" >&2; exit 1; fi',
    'ACCELERATE_LOG_LEVEL=info accelerate launch --config_file "${ACCELERATE_CONFIG:-recipes/accelerate_configs/zero2.yaml}" src/open_r1/sft.py --config "$RECIPE"',
    "# The PEFT adapter (or the model) lands in output_dir; evaluate it here with",
    "#   npx openr1 evaluate --model <model_name_or_path> --adapter <output_dir> --data <validation.jsonl>",
    "",
  ].join("\n");
}

/** The data stage's split of a run, or an error saying that the stage has not finished. */
function readSplit(runDir: string): { train: MathExample[]; validation: MathExample[] } {
  const dataDir = join(runDir, "data");
  const report = join(dataDir, "report.json");
  const unfinished = (why: string) =>
    new Error(`${runDir}: the run's data stage has not finished (${why}); \`openr1 run --until data\` with the run's settings writes the split without training`);
  if (!existsSync(report)) throw unfinished("no data/report.json");
  const counts = (JSON.parse(readFileSync(report, "utf8")) as { split?: { train?: number; validation?: number } }).split;
  const split = { train: readExamples(join(dataDir, "train.jsonl")), validation: readExamples(join(dataDir, "validation.jsonl")) };
  for (const name of ["train", "validation"] as const) {
    if (counts?.[name] !== split[name].length) throw unfinished(`data/${name}.jsonl holds ${split[name].length} examples, report.json says ${counts?.[name]}`);
  }
  return split;
}

/** A file system error as "CODE: what happened" (Node's own messages already start with the code). */
function fsError(e: unknown): string {
  const { code, message } = e as NodeJS.ErrnoException;
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}

/** mkdir -p, naming the real cause where Node's recursive mkdir reports ENOENT (a read-only file system, say). */
function makeDir(dir: string): string[] {
  const created: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) created.unshift(d);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    let cause = e;
    const first = created[0];
    if (first) {
      try {
        accessSync(dirname(first), constants.W_OK);
      } catch (inner) {
        cause = inner;
      }
    }
    throw new Error(`${dir}: cannot create the export folder (${fsError(cause)}); choose a writable --out`);
  }
  return created;
}

/**
 * Writes what TRL's SFTTrainer and open-r1's sft.py read, from a pipeline run folder: the prepared split as
 * `data/{train,test}-00000-of-00001.parquet` with `prompt` and `completion` columns, `recipe.yaml` with the run's
 * settings under field names both TRL 0.18 (open-r1) and TRL 1.x read, and `launch.sh`. Everything is computed
 * before the first file is written, and each file is written under a temporary name and renamed: a failure leaves
 * no partial file and no folder this call created.
 */
export function exportTrl(runDir: string, options: { outDir?: string; datasetPath?: string } = {}): TrlExport {
  const statePath = join(runDir, "pipeline.json");
  if (!existsSync(statePath)) throw new Error(`${runDir}: not a pipeline run (no pipeline.json); export trl reads a folder made by \`openr1 run\``);
  const state = JSON.parse(readFileSync(statePath, "utf8")) as { config: unknown; result?: { baseModelDir?: string } };
  // Read as this version reads a configuration: a setting added since the run was made takes its default.
  const config = parseSettings(pipelineConfigSchema, state.config, `${statePath}: the run's configuration`);
  const dir = resolve(options.outDir ?? join(runDir, "trl"));
  // Only a folder that is new, empty or an earlier export is written to: never over a user's own files.
  if (existsSync(dir)) {
    const foreign = readdirSync(dir, { recursive: true })
      .map((f) => String(f).split(sep).join("/"))
      .filter((f) => !EXPORT_FILES.has(f) && f !== OUTPUT_DIR && !f.startsWith(`${OUTPUT_DIR}/`));
    if (foreign.length > 0) throw new Error(`${dir} holds files an export did not write (${foreign.slice(0, 3).join(", ")}): choose another --out`);
  }
  const split = readSplit(runDir);

  // The model folder of the run (its tokenizer measured the lengths; TRL loads it): where training loaded it from,
  // or, before training, the shipped or local folder named. A Hub model not downloaded yet has Qwen2.5's tokenizer.
  const source = config.model.source;
  const baseDir = state.result?.baseModelDir ?? (source === TINY_MATH_MODEL ? TINY_MATH_MODEL_DIR : existsSync(source) ? resolve(source) : undefined);
  const tokenizer = loadTokenizer(baseDir && existsSync(join(baseDir, "tokenizer.json")) ? baseDir : undefined);
  const train = promptCompletionRows(split.train, config, tokenizer);
  const test = promptCompletionRows(split.validation, config, tokenizer);
  const warnings: string[] = [];
  const truncated = train.truncated + test.truncated;
  if (truncated > 0) {
    warnings.push(`${truncated} examples are longer than max_length ${config.train.maxSeqLength}: training here cut them in the middle of the answer, TRL truncates at the right`);
  }
  if (source === "random-small") warnings.push("the model random-small is generated on this machine: copy its folder to the training machine, or set model_name_or_path");
  const model = baseModelReference(source, baseDir ?? source, config.model.revision ?? undefined);
  const datasetPath = options.datasetPath ?? dir;
  const recipe = trlRecipe(config, { datasetPath, model, trainExamples: train.rows.length });
  const header = [
    `# open-r1 / TRL SFT recipe exported by openr1-ts from ${resolve(runDir)}`,
    "# Read unedited by open-r1's src/open_r1/sft.py (TRL 0.18) and by `trl sft --config recipe.yaml` (TRL 1.x).",
    "# The data is prompt/completion: both TRL versions compute the loss on the completion (the answer) only, as here.",
    ...(model.revision === null ? [`# model_name_or_path is a folder on this machine: copy it to the training machine and change the path.`] : []),
    ...warnings.map((w) => `# NOTE: ${w}`),
  ].join("\n");

  const files: [string, string | Uint8Array][] = [
    [TRAIN_FILE, parquet(train.rows)],
    [TEST_FILE, parquet(test.rows)],
    ["recipe.yaml", `${header}\n${toPyYaml(recipe)}`],
    ["launch.sh", launchScript()],
  ];
  const created = makeDir(join(dir, "data"));
  try {
    for (const [name, data] of files) writeFileAtomic(join(dir, name), data);
    chmodSync(join(dir, "launch.sh"), 0o755);
  } catch (e) {
    // Leave no empty folder behind that this call made (files of an earlier export stay as they were).
    for (const d of created.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        break;
      }
    }
    throw new Error(`${dir}: the export could not be written (${fsError(e)}); nothing partial was left under the files' names`);
  }
  return {
    dir,
    train: { path: join(dir, TRAIN_FILE), rows: train.rows.length },
    test: { path: join(dir, TEST_FILE), rows: test.rows.length },
    recipe: join(dir, "recipe.yaml"),
    launch: join(dir, "launch.sh"),
    warnings,
  };
}
