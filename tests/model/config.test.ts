import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseQwen2Config } from "../../src/model/config.js";
import { countParameters } from "../../src/model/params.js";
import { GOLDEN_DIR } from "./golden.js";

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
