import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { configForSaving, KNOWN_ROPE_TYPES, parseQwen2Config } from "../../src/model/config.js";
import { countParameters } from "../../src/model/params.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { saveQwen2Model } from "../../src/model/save.js";
import { GOLDEN_DIR, maxDiffMasked, readGolden } from "./golden.js";

await selectBackend();
const LAYOUTS = fileURLToPath(new URL("../fixtures/hf-layouts", import.meta.url));
/** Folders saved by the real transformers (tests/fixtures/hf-layouts/README.md), newest layouts last. */
const VERSIONS = ["transformers-4.57.6", "transformers-5.18.0"];
const readJson = (...p: string[]) => JSON.parse(readFileSync(join(...p), "utf8"));

const tied = JSON.parse(readFileSync(join(GOLDEN_DIR, "tiny-tied", "model", "config.json"), "utf8"));

test("config.json: the fields the forward needs, sliding_window null or a number", () => {
  const c = parseQwen2Config(tied);
  assert.equal(c.headDim, 16);
  assert.equal(c.numKeyValueHeads, 2);
  assert.equal(c.ropeTheta, 1e6);
  assert.equal(c.rmsNormEps, 1e-6);
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.slidingWindow, null);
  assert.equal(parseQwen2Config({ ...tied, sliding_window: 4096 }).slidingWindow, 4096);
  assert.equal(c.eosTokenId, 255);
});

test("config.json: clear errors", () => {
  assert.throws(() => parseQwen2Config({ ...tied, model_type: "llama" }, "x/config.json"), /x\/config\.json: model_type is "llama"/);
  assert.throws(() => parseQwen2Config({ ...tied, hidden_size: undefined }), /"hidden_size" must be a positive integer/);
  assert.throws(() => parseQwen2Config({ ...tied, num_key_value_heads: 3 }), /not divisible by num_key_value_heads 3/);
  assert.throws(() => parseQwen2Config({ ...tied, sliding_window: "big" }), /sliding_window/);
  assert.throws(() => parseQwen2Config({ ...tied, hidden_act: "gelu" }), /hidden_act "gelu"/);
  assert.throws(() => parseQwen2Config([]), /expected a JSON object/);
});

test("parameter counts of Qwen2.5-0.5B: 494,032,768 as published", () => {
  const c = parseQwen2Config({
    ...tied, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
    num_key_value_heads: 2, vocab_size: 151936, tie_word_embeddings: true,
  });
  assert.equal(countParameters(c).total, 494032768);
});

test("the golden model's config in the layouts transformers 4.43, 4.57 and 5.18 write: the same numbers", () => {
  const reference = parseQwen2Config(tied);
  const pick = (c: ReturnType<typeof parseQwen2Config>) => ({ ...c, raw: undefined });
  for (const version of VERSIONS) {
    const raw = readJson(LAYOUTS, version, "tiny-tied", "config.json");
    const c = parseQwen2Config(raw, `${version}/config.json`);
    assert.deepEqual(pick(c), pick(reference), version);
    assert.equal(c.ropeTheta, 1e6, `${version}: θ from ${raw.rope_parameters ? "rope_parameters" : "rope_theta"}`);
    assert.equal(c.torchDtype, "float32", `${version}: ${raw.dtype ? "dtype" : "torch_dtype"}`);
  }
  // transformers 5 keeps θ in rope_parameters only: reading the top-level rope_theta alone would have given 10,000.
  assert.equal(readJson(LAYOUTS, "transformers-5.18.0", "tiny-tied", "config.json").rope_theta, undefined);
});

test("the golden weights with each layout's config.json give transformers' golden logits", async () => {
  const g = readGolden("tiny-tied");
  const { input_ids, attention_mask, position_ids } = g.inputs;
  for (const version of VERSIONS) {
    const dir = mkdtempSync(join(tmpdir(), "layout-"));
    try {
      copyFileSync(join(GOLDEN_DIR, "tiny-tied", "model", "model.safetensors"), join(dir, "model.safetensors"));
      copyFileSync(join(LAYOUTS, version, "tiny-tied", "config.json"), join(dir, "config.json"));
      const model = await Qwen2Model.fromDirectory(dir);
      const logits = model.forward({ inputIds: input_ids, attentionMask: attention_mask, positionIds: position_ids });
      const arr = (await logits.array()) as number[][][];
      assert.deepEqual(logits.shape, [input_ids.length, input_ids[0].length, 256]);
      logits.dispose();
      model.dispose();
      assert.ok(maxDiffMasked(arr, g.forward.logits, attention_mask) < 1e-4, `${version}: logits within 1e-4`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("every RoPE type other than default is refused by name, in each version's layout; default loads", () => {
  for (const version of VERSIONS) {
    const { ROPE_INIT_FUNCTIONS } = readJson(LAYOUTS, version, "rope-types.json") as { ROPE_INIT_FUNCTIONS: string[] };
    for (const type of ROPE_INIT_FUNCTIONS) assert.ok((KNOWN_ROPE_TYPES as readonly string[]).includes(type), `${version} implements ${type}: name it as known`);
    const files = readdirSync(join(LAYOUTS, version, "rope"));
    assert.deepEqual(files.map((f) => f.replace(/\.json$/, "")).sort(), [...new Set(["default", ...ROPE_INIT_FUNCTIONS])].sort());
    for (const file of files) {
      const type = file.replace(/\.json$/, "");
      const raw = readJson(LAYOUTS, version, "rope", file);
      if (type === "default") {
        assert.equal(parseQwen2Config(raw).ropeTheta, 1e6, `${version} default`);
        continue;
      }
      const field = raw.rope_parameters ? "rope_parameters" : "rope_scaling";
      assert.throws(() => parseQwen2Config(raw, `${version}/${file}`), new RegExp(`${version}/${file}: ${field}: RoPE type "${type}" is not supported`), `${version} ${type}`);
    }
  }
});

test("RoPE parameters: legacy `type`, unknown types, per-layer-type dicts, partial rotary, bad values", () => {
  assert.throws(() => parseQwen2Config({ ...tied, rope_scaling: { type: "yarn", factor: 4 } }), /rope_scaling: RoPE type "yarn" is not supported/);
  assert.throws(() => parseQwen2Config({ ...tied, rope_scaling: { rope_type: "ntk-by-parts", factor: 4 } }), /RoPE type "ntk-by-parts" is unknown/);
  assert.throws(() => parseQwen2Config({ ...tied, rope_scaling: "yarn" }), /"rope_scaling" must be an object or null/);
  assert.throws(() => parseQwen2Config({ ...tied, rope_parameters: { rope_type: "default", rope_theta: 1e6, partial_rotary_factor: 0.5 } }), /partial_rotary_factor 0\.5 is not supported/);
  // rope_scaling wins over rope_parameters, a θ in the parameters over the top-level one (as transformers 5 reads them).
  assert.equal(parseQwen2Config({ ...tied, rope_theta: 5, rope_parameters: { rope_type: "default", rope_theta: 7 } }).ropeTheta, 7);
  assert.throws(() => parseQwen2Config({ ...tied, rope_scaling: { rope_type: "linear", factor: 2 }, rope_parameters: { rope_type: "default" } }), /rope_scaling: RoPE type "linear"/);
  assert.equal(parseQwen2Config({ ...tied, rope_theta: undefined }).ropeTheta, 10000, "transformers' default θ when none is given");
  // Nested by layer type (transformers 5 models with several attention kinds).
  const layer_types = ["full_attention", "sliding_attention"];
  const nested = (a: object, b: object) => ({ ...tied, rope_theta: undefined, layer_types, rope_parameters: { full_attention: a, sliding_attention: b } });
  assert.equal(parseQwen2Config(nested({ rope_type: "default", rope_theta: 1e6 }, { rope_type: "default", rope_theta: 1e6 })).ropeTheta, 1e6);
  assert.throws(() => parseQwen2Config(nested({ rope_type: "default", rope_theta: 1e6 }, { rope_type: "default", rope_theta: 1e4 })), /different rope_theta \(1000000, 10000\)/);
  assert.throws(() => parseQwen2Config(nested({ rope_type: "default" }, { rope_type: "yarn", factor: 2 })), /rope_parameters\.sliding_attention: RoPE type "yarn" is not supported/);
});

test("saving keeps the config's own dtype key and writes θ where transformers 4.x reads it", async () => {
  const v5 = readJson(LAYOUTS, "transformers-5.18.0", "tiny-tied", "config.json");
  const saved = configForSaving(parseQwen2Config(v5), "bfloat16");
  assert.equal(saved.dtype, "bfloat16");
  assert.equal(saved.torch_dtype, undefined, "no deprecated alias added to a 5.x config");
  assert.equal(saved.rope_theta, 1e6, "a 4.x reader (open-r1 pins 4.52) would otherwise use 10,000");
  assert.deepEqual(saved.rope_parameters, v5.rope_parameters);
  assert.deepEqual(parseQwen2Config(saved).ropeTheta, 1e6);
  const old = configForSaving(parseQwen2Config(tied), "bfloat16");
  assert.equal(old.torch_dtype, "bfloat16");
  assert.equal(old.dtype, undefined);
  assert.deepEqual(Object.keys(old), Object.keys(tied), "4.43's keys, in their order");

  // Through saveQwen2Model: a model loaded from a 5.x folder saves a config both generations read alike.
  const dir = mkdtempSync(join(tmpdir(), "layout-save-"));
  try {
    copyFileSync(join(GOLDEN_DIR, "tiny-tied", "model", "model.safetensors"), join(dir, "model.safetensors"));
    writeFileSync(join(dir, "config.json"), JSON.stringify(v5));
    const before = tf.memory().numTensors;
    const model = await Qwen2Model.fromDirectory(dir);
    await saveQwen2Model(model, join(dir, "out"), { dtype: "F32" });
    model.dispose();
    assert.equal(tf.memory().numTensors, before);
    const written = readJson(dir, "out", "config.json");
    assert.equal(written.dtype, "float32");
    assert.equal(written.rope_theta, 1e6);
    assert.equal(written.rope_parameters.rope_theta, 1e6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
