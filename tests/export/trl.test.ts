import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import YAML from "yaml";
import { dataSourceFrom, prepareDataset, writeSplit } from "../../src/data/index.js";
import { trlRecipe } from "../../src/export/trl.js";
import { TINY_MATH_MODEL_DIR } from "../../src/model/load.js";
import { resolveConfig } from "../../src/pipeline/config.js";
import { loadTokenizer } from "../../src/tokenizer/index.js";
import { MATH_INSTRUCTION, OPEN_R1_SYSTEM_PROMPT, tokenizeExamples } from "../../src/train/format.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const openR1Recipe = YAML.parse(readFileSync(join(ROOT, "tests/fixtures/trl/open-r1-config_distill.yaml"), "utf8")) as Record<string, unknown>;

// Fields of TRL 0.18's ModelConfig and ScriptArguments, SFTConfig additions, and open-r1's SFTConfig additions that the
// export may use besides those open-r1's recipe has (tests/fixtures/trl/README.md gives the sources).
const TRL_FIELDS = new Set([
  "use_peft", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_task_type", "use_rslora",
  "dataset_train_split", "dataset_test_split", "assistant_only_loss", "adam_beta1", "adam_beta2", "adam_epsilon",
  "weight_decay", "eval_steps", "save_steps", "wandb_project", "wandb_entity",
]);

/** A pipeline run folder as `openr1 run` leaves it before training: pipeline.json and the split. */
async function fakeRun(dir: string, overrides: string[] = []) {
  const config = resolveConfig({ overrides: [`outputDir=${dir}`, ...overrides] });
  const runDir = join(dir, "default");
  const prepared = await prepareDataset(dataSourceFrom("generated"), { limit: 60, split: { validation: 12, seed: config.seed } });
  await writeSplit(join(runDir, "data"), prepared.split, prepared.report);
  writeFileSync(join(runDir, "pipeline.json"), JSON.stringify({ status: "interrupted", config }));
  return { runDir, config, split: prepared.split };
}

test("export trl: parquet splits with a messages column of the conversations training uses, in datasets' file layout", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-trl-"));
  try {
    const { runDir, config, split } = await fakeRun(dir, ["train.maxSeqLength=150", "train.overLength=\"drop\""]);
    const out = execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "export", "trl", runDir], { cwd: ROOT, encoding: "utf8" });
    const trl = join(runDir, "trl");
    assert.match(out, /train: \d+ conversations → .*train-00000-of-00001\.parquet/);
    for (const [name, examples] of [["train", split.train], ["test", split.validation]] as const) {
      const path = join(trl, "data", `${name}-00000-of-00001.parquet`);
      // datasets' SPLIT_PATTERN_SHARDED: data/{split}-[0-9]{5}-of-[0-9]{5}*.*
      assert.match(relative(trl, path), new RegExp(`^data/${name}-\\d{5}-of-\\d{5}.*\\..+$`));
      const bytes = readFileSync(path);
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const metadata = parquetMetadata(file);
      const schema = parquetSchema(metadata);
      const messages = schema.children.find((c) => c.element.name === "messages")!;
      assert.equal(messages.element.converted_type, "LIST");
      assert.equal(messages.children[0]!.element.repetition_type, "REPEATED");
      assert.deepEqual(messages.children[0]!.children[0]!.children.map((c) => [c.element.name, c.element.type, c.element.converted_type]), [["role", "BYTE_ARRAY", "UTF8"], ["content", "BYTE_ARRAY", "UTF8"]]);
      const rows = (await parquetReadObjects({ file })) as { messages: { role: string; content: string }[] }[];
      // The examples training keeps (over-long ones dropped with this config), each as system, user, assistant.
      const kept = new Set(tokenizeExamples(examples, loadTokenizer(TINY_MATH_MODEL_DIR), config.train).examples.map((e) => e.id));
      const expected = examples.filter((e) => kept.has(e.id));
      assert.ok(expected.length < examples.length && expected.length > 0, "the length limit drops some");
      assert.equal(rows.length, expected.length);
      for (const [i, row] of rows.entries()) {
        assert.deepEqual(row.messages, [
          { role: "system", content: OPEN_R1_SYSTEM_PROMPT },
          { role: "user", content: `${expected[i]!.problem}\n${MATH_INSTRUCTION}` },
          { role: "assistant", content: expected[i]!.solution },
        ]);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("export trl: the recipe holds the run's hyperparameters under open-r1's and TRL's field names, and the launch command", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-trl-"));
  try {
    const { runDir, config } = await fakeRun(dir);
    execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "export", "trl", runDir, "--dataset-path", "/data/openr1-trl"], { cwd: ROOT, encoding: "utf8" });
    const recipe = YAML.parse(readFileSync(join(runDir, "trl", "recipe.yaml"), "utf8")) as Record<string, unknown>;
    for (const [key, value] of Object.entries(recipe)) {
      // TrlParser ignores unknown keys silently: every key must be one open-r1 or TRL reads.
      assert.ok(key in openR1Recipe || TRL_FIELDS.has(key), `unknown field ${key}`);
      if (key in openR1Recipe) assert.equal(typeof value, typeof openR1Recipe[key], `${key} has open-r1's type`);
    }
    const t = config.train;
    assert.equal(recipe.learning_rate, t.learningRate);
    assert.equal(recipe.lr_scheduler_type, "cosine_with_min_lr");
    assert.deepEqual(recipe.lr_scheduler_kwargs, { min_lr_rate: t.minLrRatio });
    assert.equal(recipe.warmup_ratio, t.warmupRatio);
    assert.equal(recipe.per_device_train_batch_size, t.batchSize);
    assert.equal(recipe.gradient_accumulation_steps, t.gradientAccumulation);
    assert.equal(recipe.max_length, t.maxSeqLength);
    assert.equal(recipe.max_steps, t.maxSteps);
    assert.equal(recipe.max_grad_norm, t.maxGradNorm);
    assert.equal(recipe.seed, config.seed);
    assert.equal(recipe.use_peft, true);
    assert.equal(recipe.lora_r, config.lora.r);
    assert.equal(recipe.lora_alpha, config.lora.alpha);
    assert.equal(recipe.lora_dropout, config.lora.dropout);
    assert.deepEqual(recipe.lora_target_modules, config.lora.targetModules);
    assert.equal(recipe.dataset_name, "/data/openr1-trl");
    assert.equal(recipe.eos_token, openR1Recipe.eos_token);
    assert.equal(recipe.assistant_only_loss, true, "loss on the assistant turn only, as here");
    assert.match(readFileSync(join(runDir, "trl", "recipe.yaml"), "utf8"), /NOTE: the model tiny-math has a trimmed vocabulary/);
    const launch = readFileSync(join(runDir, "trl", "launch.sh"), "utf8");
    assert.match(launch, /accelerate launch --config_file recipes\/accelerate_configs\/zero2\.yaml src\/open_r1\/sft\.py --config "\$RECIPE"/);
    assert.ok((statSync(join(runDir, "trl", "launch.sh")).mode & 0o111) !== 0, "executable");

    const full = resolveConfig({ overrides: [`outputDir=${dir}`, "train.method=\"full\"", "train.schedule=\"linear\""] });
    const r = trlRecipe(full, "/d", "m");
    assert.equal(r.use_peft, undefined, "full-parameter training: no PEFT");
    assert.equal(r.lr_scheduler_type, "linear");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("export trl writes only into a new, empty or earlier export folder, never over a user's files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-trl-"));
  try {
    const { runDir } = await fakeRun(dir);
    const out = join(dir, "mine");
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "precious");
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", "export", "trl", runDir, "--out", out], { cwd: ROOT, encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /holds files an export did not write \(notes\.txt\): choose another --out/);
    assert.equal(readFileSync(join(out, "notes.txt"), "utf8"), "precious");
    // Exporting twice into the same folder is fine.
    execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "export", "trl", runDir], { cwd: ROOT, stdio: "pipe" });
    execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "export", "trl", runDir], { cwd: ROOT, stdio: "pipe" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("export trl names a folder that is not a pipeline run", () => {
  assert.throws(() => execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "export", "trl", tmpdir()], { cwd: ROOT, encoding: "utf8", stdio: "pipe" }), /not a pipeline run \(no pipeline\.json\)/);
});
