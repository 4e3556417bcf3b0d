import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import YAML from "yaml";
import { readExamples } from "../data/read-split.js";
import { list, string, type SchemaElement } from "../data/write-parquet.js";
import type { MathExample } from "../data/types.js";
import { TINY_MATH_MODEL, TINY_MATH_MODEL_DIR } from "../model/load.js";
import type { PipelineConfig } from "../pipeline/config.js";
import { loadTokenizer, type ChatTurn, type Tokenizer } from "../tokenizer/index.js";
import { promptMessages, targetText, tokenizeExamples } from "../train/format.js";
import { DEFAULT_TRAINER_CONFIG } from "../train/trainer.js";

export interface TrlExport {
  dir: string;
  train: { path: string; rows: number };
  test: { path: string; rows: number };
  recipe: string;
  launch: string;
  /** Things the user must know before launching (e.g. a model transformers cannot load as is). */
  warnings: string[];
}

/** TRL's conversational column, `messages: list<struct<role: string, content: string>>`, in pyarrow's LIST layout. */
const MESSAGES_SCHEMA: SchemaElement[] = [
  { name: "root", num_children: 1 },
  ...list("messages", [{ name: "element", repetition_type: "OPTIONAL", num_children: 2 }, string("role"), string("content")]),
];

/** The conversations the project trains on: prompt turns + the assistant target, for the examples training keeps. */
export function trainingConversations(examples: MathExample[], config: PipelineConfig, tokenizer: Tokenizer): ChatTurn[][] {
  const kept = new Set(tokenizeExamples(examples, tokenizer, config.train).examples.map((e) => e.id));
  return examples
    .filter((e) => kept.has(e.id))
    .map((e) => [...promptMessages(e.problem), { role: "assistant" as const, content: targetText(e, config.train.target)! }]);
}

function writeMessagesParquet(path: string, conversations: ChatTurn[][]): void {
  const buffer = parquetWriteBuffer({
    columnData: [{ name: "messages", data: conversations.map((c) => c.map(({ role, content }) => ({ role, content }))) }],
    schema: MESSAGES_SCHEMA,
  });
  writeFileSync(path, Buffer.from(buffer));
}

/** The run's training settings under the names open-r1's sft.py and TRL read (ScriptArguments, SFTConfig, ModelConfig). */
export function trlRecipe(config: PipelineConfig, datasetPath: string, modelPath: string): Record<string, unknown> {
  const t = config.train;
  const schedule =
    t.schedule === "linear" ? { lr_scheduler_type: "linear" }
    : t.minLrRatio > 0 ? { lr_scheduler_type: "cosine_with_min_lr", lr_scheduler_kwargs: { min_lr_rate: t.minLrRatio } }
    : { lr_scheduler_type: "cosine" };
  return {
    // Model arguments (TRL ModelConfig)
    model_name_or_path: modelPath,
    model_revision: config.model.revision,
    torch_dtype: "bfloat16",
    ...(t.method === "lora"
      ? {
          use_peft: true,
          lora_r: config.lora.r,
          lora_alpha: config.lora.alpha,
          lora_dropout: config.lora.dropout,
          lora_target_modules: config.lora.targetModules,
          lora_task_type: "CAUSAL_LM",
        }
      : {}),
    // Data (ScriptArguments): the exported folder, read by datasets.load_dataset(dataset_name)
    dataset_name: datasetPath,
    dataset_train_split: "train",
    dataset_test_split: "test",
    eos_token: "<|im_end|>",
    // SFT trainer (SFTConfig / TrainingArguments)
    bf16: true,
    assistant_only_loss: true,
    packing: false,
    max_length: t.maxSeqLength,
    gradient_checkpointing: true,
    gradient_checkpointing_kwargs: { use_reentrant: false },
    learning_rate: t.learningRate,
    ...schedule,
    warmup_ratio: t.warmupRatio,
    weight_decay: t.weightDecay,
    adam_beta1: DEFAULT_TRAINER_CONFIG.beta1,
    adam_beta2: DEFAULT_TRAINER_CONFIG.beta2,
    adam_epsilon: DEFAULT_TRAINER_CONFIG.eps,
    max_grad_norm: t.maxGradNorm,
    per_device_train_batch_size: t.batchSize,
    gradient_accumulation_steps: t.gradientAccumulation,
    per_device_eval_batch_size: t.batchSize,
    num_train_epochs: t.epochs,
    max_steps: t.maxSteps ?? -1,
    do_eval: true,
    eval_strategy: "steps",
    eval_steps: t.evalEvery,
    logging_strategy: "steps",
    logging_steps: t.logEvery,
    save_strategy: "steps",
    save_steps: t.saveEvery,
    save_total_limit: t.keepCheckpoints,
    seed: config.seed,
    output_dir: `data/${config.runName ?? config.profile}-trl`,
    report_to: config.tracking.mode === "disabled" ? ["none"] : ["wandb"],
    ...(config.tracking.mode === "disabled" ? {} : { wandb_project: config.tracking.project, ...(config.tracking.entity ? { wandb_entity: config.tracking.entity } : {}) }),
  };
}

/**
 * Writes what TRL's SFTTrainer and open-r1's sft.py read, from a pipeline run folder: the prepared split as
 * `data/{train,test}-00000-of-00001.parquet` with a `messages` column (the conversations the project trains on),
 * `recipe.yaml` with the run's hyperparameters under open-r1's field names, and `launch.sh` with the command.
 */
export function exportTrl(runDir: string, options: { outDir?: string; datasetPath?: string } = {}): TrlExport {
  const statePath = join(runDir, "pipeline.json");
  if (!existsSync(statePath)) throw new Error(`${runDir}: not a pipeline run (no pipeline.json); export trl reads a folder made by \`openr1 run\``);
  const state = JSON.parse(readFileSync(statePath, "utf8")) as { config: PipelineConfig; result?: { baseModelDir?: string } };
  const config = state.config;
  const dir = resolve(options.outDir ?? join(runDir, "trl"));
  // Only a folder that is new, empty or an earlier export is written to: never over a user's own files.
  const ours = new Set(["data", "recipe.yaml", "launch.sh", "data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet"]);
  if (existsSync(dir)) {
    const foreign = readdirSync(dir, { recursive: true }).map(String).filter((f) => !ours.has(f.split(sep).join("/")));
    if (foreign.length > 0) throw new Error(`${dir} holds files an export did not write (${foreign.slice(0, 3).join(", ")}): choose another --out`);
  }
  mkdirSync(join(dir, "data"), { recursive: true });
  const warnings: string[] = [];

  // Lengths are measured with the tokenizer training used, so the exported examples are the ones it kept.
  const baseDir = state.result?.baseModelDir ?? (config.model.source === TINY_MATH_MODEL ? TINY_MATH_MODEL_DIR : undefined);
  const tokenizerDir = baseDir && existsSync(join(baseDir, "tokenizer.json")) ? baseDir : undefined;
  const tokenizer = loadTokenizer(tokenizerDir);
  const split = (name: string) => trainingConversations(readExamples(join(runDir, "data", `${name}.jsonl`)), config, tokenizer);
  const train = { path: join(dir, "data", "train-00000-of-00001.parquet"), rows: 0 };
  const test = { path: join(dir, "data", "test-00000-of-00001.parquet"), rows: 0 };
  const trainRows = split("train");
  const testRows = split("validation");
  writeMessagesParquet(train.path, trainRows);
  writeMessagesParquet(test.path, testRows);
  train.rows = trainRows.length;
  test.rows = testRows.length;
  if (config.train.overLength === "truncate") {
    warnings.push(`training here cuts over-long examples in the middle of the answer; TRL truncates at the right (max_length ${config.train.maxSeqLength})`);
  }

  let modelPath = config.model.source;
  if (config.model.source === TINY_MATH_MODEL || config.model.source === "random-small") {
    modelPath = config.model.source === TINY_MATH_MODEL ? TINY_MATH_MODEL_DIR : modelPath;
    warnings.push(
      `the model ${config.model.source} has a trimmed vocabulary (vocab_map.json) or is generated here: transformers cannot train it as is; ` +
        `set model_name_or_path to a Qwen2.5 model (e.g. Qwen/Qwen2.5-0.5B-Instruct) for a real run`,
    );
  } else if (existsSync(config.model.source)) modelPath = resolve(config.model.source);

  const recipe = join(dir, "recipe.yaml");
  const header = [
    `# open-r1 / TRL SFT recipe exported by openr1-ts from ${resolve(runDir)}`,
    "# Read by open-r1's src/open_r1/sft.py and `trl sft` (TrlParser: ScriptArguments, SFTConfig, ModelConfig).",
    "# assistant_only_loss (TRL >= 0.19) trains on the assistant turn only, as openr1-ts does.",
    ...warnings.map((w) => `# NOTE: ${w}`),
  ].join("\n");
  writeFileSync(recipe, `${header}\n${YAML.stringify(trlRecipe(config, options.datasetPath ?? dir, modelPath))}`);

  const launch = join(dir, "launch.sh");
  writeFileSync(
    launch,
    [
      "#!/usr/bin/env bash",
      "# From a checkout of https://github.com/huggingface/open-r1 (pip install -e \".[dev]\"), on the GPU machine:",
      "# one node, DeepSpeed ZeRO-2 (see recipes/accelerate_configs/ for ddp, zero3, fsdp); set num_processes to your GPU count.",
      "set -euo pipefail",
      `RECIPE=\${RECIPE:-${recipe}}`,
      'ACCELERATE_LOG_LEVEL=info accelerate launch --config_file recipes/accelerate_configs/zero2.yaml src/open_r1/sft.py --config "$RECIPE"',
      "# Without open-r1, TRL alone reads the same file:  trl sft --config \"$RECIPE\"",
      "# The PEFT adapter lands in output_dir; evaluate it here with:",
      "#   npx openr1 evaluate --model <base model> --adapter <output_dir> --data <validation.jsonl>",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return { dir, train, test, recipe, launch, warnings };
}
