import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseQwen2Config, readQwen2Config, TINY_MATH_MODEL_DIR } from "../../src/model/index.js";
import { defaultMaxContext, modelFingerprint } from "../../src/serve/identity.js";
import { GOLDEN_DIR } from "../model/golden.js";

test("the model fingerprint changes with the weights, the config or an adapter, and with nothing else", async () => {
  const model = join(GOLDEN_DIR, "tiny-tied", "model");
  const fp = await modelFingerprint(model);
  assert.match(fp, /^sha256:[0-9a-f]{16}$/);
  assert.equal(await modelFingerprint(model), fp, "stable");
  assert.notEqual(await modelFingerprint(model, join(GOLDEN_DIR, "tiny-tied", "lora", "adapter")), fp, "an adapter changes it");
  const dir = mkdtempSync(join(tmpdir(), "openr1-fp-"));
  try {
    cpSync(model, dir, { recursive: true });
    writeFileSync(join(dir, "README.md"), "notes\n");
    assert.equal(await modelFingerprint(dir), fp, "a copy elsewhere, with a README, is the same model");
    writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ eos_token_id: 1 }));
    assert.notEqual(await modelFingerprint(dir), fp, "a changed generation config is another model");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.notEqual(await modelFingerprint(TINY_MATH_MODEL_DIR), fp);
});

test("the default context: the model's limit when it fits the budget, else what the batch's KV cache fits", async () => {
  const tiny = await readQwen2Config(TINY_MATH_MODEL_DIR);
  const tile = 32 * 2 ** 20;
  assert.equal(defaultMaxContext(tiny, 8, 6 * 2 ** 30, tile), 32768);
  // Qwen2.5-0.5B's shape: 8 sequences × 2 (K, V) × 24 layers × 2 KV heads × 64 dims × 4 bytes = 196,608 bytes a token,
  // twice (old and new cache during a step): (6 GiB − 4 tiles of 32 MiB) / 393,216 = 16,042.
  const half = parseQwen2Config({ hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, intermediate_size: 4864, vocab_size: 151936, max_position_embeddings: 32768 }, "0.5B shape");
  assert.equal(defaultMaxContext(half, 8, 6 * 2 ** 30, tile), 15360);
  assert.equal(defaultMaxContext(half, 8, 2 ** 20, tile), 1024, "never below 1,024");
});
