import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs, { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import YAML from "yaml";
import { dataSourceFrom, prepareDataset, writeSplit } from "../../src/data/index.js";
import { exportTrl, TEST_FILE, toPyYaml, TRAIN_FILE, trlRecipe } from "../../src/export/trl.js";
import { DEFAULT_MODEL_REPO, DEFAULT_MODEL_REVISION, TINY_MATH_MODEL_DIR } from "../../src/model/load.js";
import { resolveConfig } from "../../src/pipeline/config.js";
import { loadTokenizer, type ChatTurn } from "../../src/tokenizer/index.js";
import { MATH_INSTRUCTION, OPEN_R1_SYSTEM_PROMPT } from "../../src/data/prompt.js";
import { tokenizeExamples } from "../../src/train/format.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = join(ROOT, "tests/fixtures/trl");
const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], { cwd: ROOT, encoding: "utf8" });

interface Field {
  type: string;
  default: unknown;
}
interface Target {
  reader: string;
  unknown_keys: "ignored" | "refused";
  classes: Record<string, Record<string, Field>>;
  enums: Record<string, string[]>;
}
/** The fields each consumer parses a recipe into, from their sources (tests/fixtures/trl/README.md). */
const TARGETS: Record<string, Target> = {
  "open-r1 sft.py, TRL 0.18.0": JSON.parse(readFileSync(join(FIXTURES, "fields-open-r1-trl-0.18.0.json"), "utf8")),
  "trl sft, TRL 1.13.0": JSON.parse(readFileSync(join(FIXTURES, "fields-trl-1.13.0.json"), "utf8")),
};
const openR1Recipe = YAML.parse(readFileSync(join(FIXTURES, "open-r1-config_distill.yaml"), "utf8")) as Record<string, unknown>;

/** Splits a Python annotation at its top-level `|` / Union / Optional into the alternatives. */
function alternatives(type: string): string[] {
  const t = type.trim();
  const inner = (prefix: string) => t.slice(prefix.length, -1);
  const splitTop = (s: string, sepChar: string) => {
    const out: string[] = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      if (s[i] === "[") depth++;
      else if (s[i] === "]") depth--;
      else if (s[i] === sepChar && depth === 0) out.push(s.slice(start, i)), (start = i + 1);
    }
    return [...out, s.slice(start)].map((x) => x.trim());
  };
  if (t.startsWith("Optional[")) return [...alternatives(inner("Optional[")), "None"];
  if (t.startsWith("Union[")) return splitTop(inner("Union["), ",").flatMap(alternatives);
  const parts = splitTop(t, "|");
  return parts.length > 1 ? parts.flatMap(alternatives) : [t];
}

/** Whether a YAML value is one HfArgumentParser keeps for a field of this annotation (it does not convert YAML defaults). */
function fits(value: unknown, type: string, enums: Record<string, string[]>): boolean {
  return alternatives(type).some((alt) => {
    if (alt === "None") return value === null;
    if (alt === "bool") return typeof value === "boolean";
    if (alt === "int") return Number.isInteger(value);
    if (alt === "float") return typeof value === "number";
    if (alt === "str") return typeof value === "string";
    if (alt in enums) return typeof value === "string" && enums[alt]!.includes(value);
    if (alt === "list[str]") return Array.isArray(value) && value.every((v) => typeof v === "string");
    if (alt === "dict" || alt.startsWith("dict[")) return value !== null && typeof value === "object" && !Array.isArray(value);
    return false;
  });
}

// PyYAML 6's implicit resolvers (yaml/resolver.py): TrlParser reads recipes with yaml.safe_load, YAML 1.1.
const PYYAML = {
  bool: /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  float: /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  int: /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  null: /^(?:~|null|Null|NULL|)$/,
};

/** Every plain scalar of `text` means to PyYAML what it means here (a number, a boolean, a string). */
function assertPyYamlReadsTheSame(text: string): void {
  YAML.visit(YAML.parseDocument(text), {
    Scalar(_, node) {
      if (node.type !== "PLAIN") return;
      const source = String(node.source);
      const pyType = PYYAML.bool.test(source) ? "boolean" : PYYAML.int.test(source) || PYYAML.float.test(source) ? "number" : PYYAML.null.test(source) ? "null" : "string";
      const ours = node.value === null ? "null" : typeof node.value;
      assert.equal(pyType, ours, `PyYAML reads ${JSON.stringify(source)} as a ${pyType}`);
    },
  });
}

/** A pipeline run folder as `openr1 run --until data` leaves it: pipeline.json and the split. */
async function fakeRun(dir: string, overrides: string[] = []) {
  const config = resolveConfig({ overrides: [`outputDir=${dir}`, ...overrides] });
  const runDir = join(dir, "default");
  const prepared = await prepareDataset(dataSourceFrom("generated"), { limit: 60, split: { validation: 12, seed: config.seed } });
  await writeSplit(join(runDir, "data"), prepared.split, prepared.report);
  writeFileSync(join(runDir, "pipeline.json"), JSON.stringify({ status: "stopped", config }));
  return { runDir, config, split: prepared.split };
}

async function withRun(fn: (r: Awaited<ReturnType<typeof fakeRun>> & { dir: string }) => Promise<void> | void, overrides: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "openr1-trl-"));
  try {
    await fn({ dir, ...(await fakeRun(dir, overrides)) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const readParquet = async (path: string) => {
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return { schema: parquetSchema(parquetMetadata(file)), rows: (await parquetReadObjects({ file })) as { prompt: ChatTurn[]; completion: ChatTurn[] }[] };
};

test("export trl: prompt/completion parquet of the examples training keeps, in datasets' file layout", async () => {
  await withRun(async ({ runDir, config, split }) => {
    const r = cli("export", "trl", runDir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /train: \d+ examples → .*train-00000-of-00001\.parquet/);
    const trl = join(runDir, "trl");
    assert.deepEqual(readdirSync(trl).sort(), ["data", "launch.sh", "recipe.yaml"]);
    for (const [file, examples] of [[TRAIN_FILE, split.train], [TEST_FILE, split.validation]] as const) {
      // datasets' SPLIT_PATTERN_SHARDED: data/{split}-[0-9]{5}-of-[0-9]{5}*.*
      assert.match(relative(trl, join(trl, file)), /^data\/(train|test)-\d{5}-of-\d{5}.*\..+$/);
      const { schema, rows } = await readParquet(join(trl, file));
      // Exactly prompt and completion: TRL 0.18's apply_chat_template refuses any other combination of its keys (a
      // `messages` column next to them raises KeyError).
      assert.deepEqual(schema.children.map((c) => c.element.name), ["prompt", "completion"]);
      for (const column of schema.children) {
        assert.equal(column.element.converted_type, "LIST");
        assert.equal(column.children[0]!.element.repetition_type, "REPEATED");
        assert.deepEqual(column.children[0]!.children[0]!.children.map((c) => [c.element.name, c.element.type, c.element.converted_type]), [["role", "BYTE_ARRAY", "UTF8"], ["content", "BYTE_ARRAY", "UTF8"]]);
      }
      const kept = new Set(tokenizeExamples(examples, loadTokenizer(TINY_MATH_MODEL_DIR), config.train).examples.map((e) => e.id));
      const expected = examples.filter((e) => kept.has(e.id));
      assert.equal(rows.length, expected.length);
      for (const [i, row] of rows.entries()) {
        assert.deepEqual(row.prompt, [
          { role: "system", content: OPEN_R1_SYSTEM_PROMPT },
          { role: "user", content: `${expected[i]!.problem}\n${MATH_INSTRUCTION}` },
        ]);
        assert.deepEqual(row.completion, [{ role: "assistant", content: expected[i]!.solution }]);
      }
    }
  });
});

test("export trl: TRL's completion mask over the exported rows is the project's label mask, token for token", async () => {
  // TRL 0.18 (sft_trainer.py _prepare_dataset + data_utils.apply_chat_template) and 1.x (tokenize_fn) alike: the
  // prompt rendered with the generation prompt, the whole conversation rendered, both tokenized without special
  // tokens; the completion mask is 0 over the prompt's length and 1 after it, and labels are -100 where it is 0.
  await withRun(async ({ runDir, config, split }) => {
    const { train } = exportTrl(runDir);
    const tokenizer = loadTokenizer(TINY_MATH_MODEL_DIR);
    const ours = tokenizeExamples(split.train, tokenizer, config.train).examples;
    const { rows } = await readParquet(train.path);
    assert.equal(rows.length, ours.length);
    for (const [i, row] of rows.entries()) {
      const promptIds = tokenizer.encode(tokenizer.applyChatTemplate(row.prompt, { addGenerationPrompt: true }), { addSpecialTokens: false });
      const ids = tokenizer.encode(tokenizer.applyChatTemplate([...row.prompt, ...row.completion]), { addSpecialTokens: false });
      assert.deepEqual(ids.slice(0, promptIds.length), promptIds, "the prompt is a prefix of the conversation");
      assert.deepEqual(ids, ours[i]!.inputIds);
      assert.deepEqual(ids.map((id, k) => (k < promptIds.length ? -100 : id)), ours[i]!.labels, `example ${i}`);
    }
  }, ["train.maxSeqLength=150", "train.overLength=\"drop\""]);
});

test("export trl: every recipe key is a field open-r1's sft.py (TRL 0.18) and `trl sft` (TRL 1.13) both read, of its type", async () => {
  await withRun(async ({ runDir, config }) => {
    const r = cli("export", "trl", runDir, "--dataset-path", "/data/openr1-trl");
    assert.equal(r.status, 0, r.stderr);
    const text = readFileSync(join(runDir, "trl", "recipe.yaml"), "utf8");
    assertPyYamlReadsTheSame(text);
    assert.throws(() => assertPyYamlReadsTheSame("adam_epsilon: 1e-8\n"), /PyYAML reads "1e-8" as a string/);
    assert.throws(() => assertPyYamlReadsTheSame("eval_strategy: no\n"), /as a boolean/);
    const recipe = YAML.parse(text) as Record<string, unknown>;
    const { env, ...fields } = recipe;
    for (const [name, target] of Object.entries(TARGETS)) {
      const all = Object.assign({}, ...Object.values(target.classes)) as Record<string, Field>;
      for (const [key, value] of Object.entries(fields)) {
        // open-r1 drops an unknown key silently, trl sft refuses it: neither is acceptable.
        assert.ok(key in all, `${name} has no field ${key}`);
        assert.ok(fits(value, all[key]!.type, target.enums), `${name}: ${key} = ${JSON.stringify(value)} is not a ${all[key]!.type}`);
      }
    }
    // The TrlParser of both versions turns `env` into environment variables (W&B's project) before parsing.
    assert.deepEqual(env, { WANDB_PROJECT: config.tracking.project });
    for (const key of ["torch_dtype", "dtype", "warmup_ratio", "assistant_only_loss", "wandb_project", "messages"]) assert.ok(!(key in recipe), `${key} is read by one version only`);
    // Where open-r1's own recipe sets a key, ours has the same type.
    for (const [key, value] of Object.entries(fields)) if (key in openR1Recipe) assert.equal(typeof value, typeof openR1Recipe[key], key);

    const t = config.train;
    const steps = t.maxSteps!;
    assert.equal(recipe.model_name_or_path, TINY_MATH_MODEL_DIR, "the shipped folder, which transformers loads as it is");
    assert.equal(recipe.model_revision, undefined, "a local folder has no revision");
    assert.equal(recipe.completion_only_loss, true);
    assert.equal(recipe.learning_rate, t.learningRate);
    assert.equal(recipe.lr_scheduler_type, "cosine_with_min_lr");
    assert.deepEqual(recipe.lr_scheduler_kwargs, { min_lr_rate: t.minLrRatio });
    assert.equal(recipe.max_steps, steps);
    assert.equal(recipe.warmup_steps, Math.ceil(t.warmupRatio * steps), "warmup_ratio · steps, as transformers 4.x computes it");
    assert.equal(recipe.per_device_train_batch_size, t.batchSize);
    assert.equal(recipe.gradient_accumulation_steps, t.gradientAccumulation);
    assert.equal(recipe.max_length, t.maxSeqLength);
    assert.equal(recipe.max_grad_norm, t.maxGradNorm);
    assert.equal(recipe.seed, config.seed);
    assert.equal(recipe.use_peft, true);
    assert.equal(recipe.lora_r, config.lora.r);
    assert.equal(recipe.lora_alpha, config.lora.alpha);
    assert.equal(recipe.lora_dropout, config.lora.dropout);
    assert.deepEqual(recipe.lora_target_modules, config.lora.targetModules);
    assert.equal(recipe.dataset_name, "/data/openr1-trl");
    assert.equal(recipe.eos_token, openR1Recipe.eos_token);
    assert.equal(recipe.adam_epsilon, 1e-8);
    assert.match(text, /^adam_epsilon: 1\.0e-8$/m);
    assert.equal(loadTokenizer(TINY_MATH_MODEL_DIR).tokenToId(recipe.eos_token as string), loadTokenizer(TINY_MATH_MODEL_DIR).eosTokenId);
    assert.match(text, /model_name_or_path is a folder on this machine/);

    // Epoch-based runs: the steps come from the exported examples, as the trainer counts them here.
    const byEpochs = resolveConfig({ overrides: [`outputDir=${runDir}`, "train.maxSteps=null", "train.epochs=2", "train.gradientAccumulation=2"] });
    assert.equal(trlRecipe(byEpochs, { datasetPath: "/d", model: { nameOrPath: "m", revision: null }, trainExamples: 41 }).max_steps, Math.ceil((2 * Math.ceil(41 / 8)) / 2));
    const full = resolveConfig({ profile: "full", overrides: [`outputDir=${runDir}`, "train.method=\"full\"", "train.schedule=\"linear\"", "tracking.mode=\"disabled\""] });
    const f = trlRecipe(full, { datasetPath: "/d", model: { nameOrPath: DEFAULT_MODEL_REPO, revision: DEFAULT_MODEL_REVISION }, trainExamples: 1000 });
    assert.equal(f.use_peft, undefined, "full-parameter training: no PEFT");
    assert.equal(f.lr_scheduler_type, "linear");
    assert.equal(f.model_revision, DEFAULT_MODEL_REVISION);
    assert.deepEqual(f.report_to, ["none"]);
    assert.equal(f.env, undefined);
    // The values 0 and constant mean here what they mean to TRL: no periodic evaluation or checkpoint, no clipping,
    // constant after warmup; rsLoRA is peft's use_rslora. (trl sft 1.13 read and trained such a recipe: checked by hand.)
    const offs = resolveConfig({ overrides: [`outputDir=${runDir}`, "train.schedule=constant", "train.evalEvery=0", "train.saveEvery=0", "train.maxGradNorm=0", "lora.useRslora=true"] });
    const o = trlRecipe(offs, { datasetPath: "/d", model: { nameOrPath: "m", revision: null }, trainExamples: 1000 });
    assert.deepEqual(
      [o.lr_scheduler_type, o.eval_strategy, o.eval_steps, o.save_strategy, o.save_steps, o.max_grad_norm, o.use_rslora],
      ["constant_with_warmup", "no", undefined, "no", undefined, 0, true],
    );
    for (const [name, target] of Object.entries(TARGETS)) {
      const all = Object.assign({}, ...Object.values(target.classes)) as Record<string, Field>;
      for (const [key, value] of Object.entries(o).filter(([k]) => k !== "env")) assert.ok(key in all && fits(value, all[key]!.type, target.enums), `${name}: ${key} = ${JSON.stringify(value)}`);
    }
    const tricky = { a: 1e-8, b: 2.5e21, c: -3e-7, d: 0.002, s: "no", t: "on", u: "1e-8", l: [1e-8, "off"] };
    assertPyYamlReadsTheSame(toPyYaml(tricky));
    assert.deepEqual(YAML.parse(toPyYaml(tricky)), tricky);
  });
});

test("launch.sh runs open-r1's sft.py on the recipe next to it, wherever the folder was moved (--dataset-path)", async () => {
  await withRun(async ({ dir, runDir }) => {
    assert.equal(cli("export", "trl", runDir, "--dataset-path", join(dir, "elsewhere")).status, 0);
    const moved = join(dir, "elsewhere");
    cpSync(join(runDir, "trl"), moved, { recursive: true });
    const launch = join(moved, "launch.sh");
    assert.ok((statSync(launch).mode & 0o111) !== 0, "executable");
    const outside = spawnSync("bash", [launch], { cwd: dir, encoding: "utf8" });
    assert.equal(outside.status, 1);
    assert.match(outside.stderr, /run it from an open-r1 checkout/);
    // A stand-in open-r1 checkout and an `accelerate` that prints its arguments.
    const openR1 = join(dir, "open-r1");
    mkdirSync(join(openR1, "src/open_r1"), { recursive: true });
    writeFileSync(join(openR1, "src/open_r1/sft.py"), "");
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "accelerate"), "#!/bin/sh\necho \"$@\"\n");
    chmodSync(join(dir, "bin", "accelerate"), 0o755);
    const r = spawnSync("bash", [launch], { cwd: openR1, encoding: "utf8", env: { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH}` } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `launch --config_file recipes/accelerate_configs/zero2.yaml src/open_r1/sft.py --config ${join(moved, "recipe.yaml")}`);
    assert.equal(YAML.parse(readFileSync(join(moved, "recipe.yaml"), "utf8")).dataset_name, moved);
  });
});

test("export trl writes only into a new, empty or earlier export folder, never over a user's files", async () => {
  await withRun(({ dir, runDir }) => {
    const out = join(dir, "mine");
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "precious");
    const r = cli("export", "trl", runDir, "--out", out);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /holds files an export did not write \(notes\.txt\): choose another --out/);
    assert.equal(readFileSync(join(out, "notes.txt"), "utf8"), "precious");
    // Exporting twice into the same folder is fine, also after `trl sft` ran there (its output_dir, output/, is left alone).
    execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "export", "trl", runDir], { cwd: ROOT, stdio: "pipe" });
    const output = join(runDir, "trl", YAML.parse(readFileSync(join(runDir, "trl", "recipe.yaml"), "utf8")).output_dir as string);
    mkdirSync(join(output, "checkpoint-2"), { recursive: true });
    writeFileSync(join(output, "checkpoint-2", "adapter_config.json"), "{}");
    execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "export", "trl", runDir], { cwd: ROOT, stdio: "pipe" });
    assert.equal(readFileSync(join(output, "checkpoint-2", "adapter_config.json"), "utf8"), "{}");
  });
});

test("export trl names a folder that is not a pipeline run, and a run whose data stage never finished (leaving no trl/)", async () => {
  assert.match(cli("export", "trl", tmpdir()).stderr, /not a pipeline run \(no pipeline\.json\)/);
  await withRun(({ runDir }) => {
    const data = join(runDir, "data");
    const report = readFileSync(join(data, "report.json"), "utf8");
    rmSync(data, { recursive: true });
    const r = cli("export", "trl", runDir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the run's data stage has not finished \(no data\/report\.json\); `openr1 run --until data` with the run's settings writes the split/);
    assert.ok(!existsSync(join(runDir, "trl")), "no empty trl/data/ left behind");
    // A split cut short (a crash while writing it): the report, written last, still says how many.
    mkdirSync(data);
    writeFileSync(join(data, "report.json"), report);
    writeFileSync(join(data, "train.jsonl"), "");
    writeFileSync(join(data, "validation.jsonl"), "");
    assert.match(cli("export", "trl", runDir).stderr, /data stage has not finished \(data\/train\.jsonl holds 0 examples, report\.json says 48\)/);
    assert.ok(!existsSync(join(runDir, "trl")));
  });
});

/** Runs `fn` with node:fs's `name` replaced (the ESM bindings of node:fs follow: syncBuiltinESMExports). */
async function withFs<K extends "mkdirSync" | "writeFileSync" | "accessSync">(name: K, replacement: (typeof fs)[K], fn: () => Promise<void> | void) {
  const original = fs[name];
  (fs as unknown as Record<string, unknown>)[name] = replacement;
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    (fs as unknown as Record<string, unknown>)[name] = original;
    syncBuiltinESMExports();
  }
}

const errno = (code: string, message: string) => Object.assign(new Error(`${code}: ${message}`), { code });

test("export trl into a read-only place names EROFS, not the ENOENT of Node's recursive mkdir", async () => {
  await withRun(async ({ dir, runDir }) => {
    const out = join(dir, "ro", "export");
    const mkdir = fs.mkdirSync;
    const access = fs.accessSync;
    // What Node does on a read-only file system: the recursive mkdir fails with ENOENT, access(W_OK) with EROFS.
    await withFs("mkdirSync", ((p: fs.PathLike, o?: fs.MakeDirectoryOptions) => {
      if (String(p).startsWith(join(dir, "ro"))) throw errno("ENOENT", `no such file or directory, mkdir '${String(p)}'`);
      return mkdir(p, o);
    }) as typeof fs.mkdirSync, () =>
      withFs("accessSync", ((p: fs.PathLike, m?: number) => {
        if (String(p) === dir) throw errno("EROFS", `read-only file system, access '${dir}'`);
        return access(p, m);
      }) as typeof fs.accessSync, () => {
        assert.throws(() => exportTrl(runDir, { outDir: out }), new RegExp(`${out}/data: cannot create the export folder \\(EROFS: read-only file system, access '${dir}'\\); choose a writable --out`));
      }),
    );
    assert.ok(!existsSync(join(dir, "ro")));
  });
});

test("export trl on real small file systems: a read-only tmpfs, a full one (mounting needs root with CAP_SYS_ADMIN)", async (t) => {
  const readOnly = mkdtempSync(join(tmpdir(), "openr1-ro-"));
  const full = mkdtempSync(join(tmpdir(), "openr1-full-"));
  const mounted: string[] = [];
  try {
    for (const [point, options] of [[readOnly, "ro,size=64k"], [full, "size=8k"]]) {
      if (spawnSync("mount", ["-t", "tmpfs", "-o", options!, "tmpfs", point!]).status !== 0) return void t.skip("cannot mount a tmpfs here");
      mounted.push(point!);
    }
    await withRun(({ runDir }) => {
      const ro = cli("export", "trl", runDir, "--out", join(readOnly, "a", "b"));
      assert.equal(ro.status, 1);
      assert.match(ro.stderr, /a\/b\/data: cannot create the export folder \(EROFS: read-only file system/);
      // 8 KiB: the two parquet files fit, recipe.yaml does not.
      const out = join(full, "x");
      const r = cli("export", "trl", runDir, "--out", out);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the export could not be written \(ENOSPC: no space left on device/);
      const left = readdirSync(out, { recursive: true }).map(String);
      assert.ok(!left.some((f) => f.endsWith(".tmp")), "no temporary file left");
      for (const f of left) if (statSync(join(out, f)).isFile()) assert.ok(statSync(join(out, f)).size > 0, `${f} is not empty`);
    });
  } finally {
    for (const point of mounted) spawnSync("umount", [point]);
    rmSync(readOnly, { recursive: true, force: true });
    rmSync(full, { recursive: true, force: true });
  }
});

test("a full disk during export trl leaves no 0-byte parquet under its name, no temporary file, no empty data/", async () => {
  await withRun(async ({ runDir }) => {
    const write = fs.writeFileSync;
    let writes = 0;
    await withFs("writeFileSync", ((p: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, o?: fs.WriteFileOptions) => {
      if (String(p).endsWith(".parquet.tmp") && ++writes === 2) {
        write(p, ""); // the file was created, nothing fitted
        throw errno("ENOSPC", `no space left on device, write`);
      }
      return write(p, data, o);
    }) as typeof fs.writeFileSync, () => {
      assert.throws(() => exportTrl(runDir), /trl: the export could not be written \(ENOSPC: no space left on device, write\); nothing partial was left/);
    });
    const trl = join(runDir, "trl");
    assert.deepEqual(readdirSync(join(trl, "data")), ["train-00000-of-00001.parquet"], "the first file, whole; no test parquet, no .tmp");
    assert.ok(statSync(join(trl, TRAIN_FILE)).size > 0);
    // From scratch, the first write failing: the folders this call made are gone again.
    rmSync(trl, { recursive: true });
    await withFs("writeFileSync", ((p: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, o?: fs.WriteFileOptions) => {
      if (String(p).endsWith(".tmp")) throw errno("ENOSPC", "no space left on device, write");
      return write(p, data, o);
    }) as typeof fs.writeFileSync, () => {
      assert.throws(() => exportTrl(runDir), /ENOSPC/);
    });
    assert.ok(!existsSync(trl), "no empty trl/data/ left");
  });
});

test("`openr1 run --until data` writes the split and trains nothing; export trl hands it over; the run goes on later", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-until-"));
  try {
    const r = cli("run", "--until", "data", "--run-name", "d", "--set", `outputDir=${JSON.stringify(dir)}`, "--set", "tracking.mode=\"disabled\"", "--no-progress");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Stopped after the data stage, as asked/);
    assert.match(r.stdout, /Pipeline stopped\./);
    const runDir = join(dir, "d");
    assert.deepEqual(readdirSync(runDir).sort(), ["data", "pipeline.json"], "no checkpoints, no evaluation, no tracking record");
    const state = JSON.parse(readFileSync(join(runDir, "pipeline.json"), "utf8"));
    assert.equal(state.status, "stopped");
    const e = cli("export", "trl", runDir);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /train: 1880 examples/);
    assert.match(cli("run", "--until", "model").stderr, /--until model: the only stage to stop after is "data"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
