import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyEnvironment, environment } from "../../src/environment.js";
import { selectBackend } from "../../src/backend.js";
import type { MathExample } from "../../src/data/types.js";
import { defaultTokenizerDir } from "../../src/tokenizer/index.js";
import { runTrainJob } from "../../src/train/index.js";

await selectBackend();

const ex = (i: number): MathExample => ({
  id: `p${i}`, problem: `What is ${i} + ${i}?`, solution: `${i} + ${i} = ${2 * i}, so the answer is \\boxed{${2 * i}}.`, answer: `${2 * i}`,
  reasoning: i % 2 ? `<think>\nadd\n</think>\n\\boxed{${2 * i}}` : undefined, problemType: "Algebra", questionType: "math-word-problem", source: "test",
});

/** Runs `body` with a fresh model cache (OPENR1_CACHE's setting) and output folder, both removed (and the setting restored) afterwards. */
async function withTempCache(body: (out: string) => Promise<void>): Promise<void> {
  const cache = mkdtempSync(join(tmpdir(), "openr1-cache-"));
  const out = mkdtempSync(join(tmpdir(), "job-"));
  const saved = environment();
  applyEnvironment({ ...saved, cacheDir: cache });
  try {
    await body(out);
  } finally {
    applyEnvironment(saved);
    rmSync(cache, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}

test("runTrainJob: the small random Qwen2 (made on first use), shipped tokenizer, LoRA, outputs", () =>
  withTempCache(async (out) => {
    let ready: unknown;
    const res = await runTrainJob({
      data: { train: [1, 2, 3, 4, 5].map(ex), validation: [6, 7].map(ex) },
      lora: { r: 4, alpha: 8, dropout: 0, targetModules: ["q_proj", "v_proj"] },
      format: { target: "reasoning", maxSeqLength: 128, systemPrompt: null },
      trainer: { outputDir: out, batchSize: 2, maxSteps: 2, learningRate: 1e-3, saveEvery: 2 },
      mergedDtype: "f32",
      onReady: (info) => void (ready = info),
    });
    assert.equal(res.status, "completed");
    assert.equal(res.steps.length, 2);
    assert.ok(res.steps.every((s) => Math.abs(s.loss - Math.log(151936)) < 0.5), "a random model starts near ln(vocab)");
    assert.equal(res.formatReport.train.kept, 3); // the even-numbered examples have no reasoning trace
    assert.equal(res.formatReport.train.droppedNoTarget, 2);
    assert.equal((ready as { tokenizerDir: string }).tokenizerDir, defaultTokenizerDir());
    assert.equal(res.parameters.trainable, 2 * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4)); // 2 layers × (q: A 4×64, B 64×4; v: A 4×64, B 32×4)
    assert.ok(existsSync(join(res.adapterDir!, "adapter_model.safetensors")));
    assert.deepEqual(JSON.parse(readFileSync(join(res.adapterDir!, "adapter_config.json"), "utf8")).target_modules.sort(), ["q_proj", "v_proj"]);
    assert.ok(readdirSync(res.mergedDir!).includes("tokenizer.json"));
    assert.equal(res.tunedDir, res.mergedDir);
    res.lora!.dispose();
    res.model.dispose();
  }));

test("runTrainJob with method full: every weight trains, the trained model is saved in HF layout with its tokenizer", () =>
  withTempCache(async (out) => {
    const res = await runTrainJob({
      data: { train: [1, 2, 3, 4].map(ex), validation: [6].map(ex) },
      method: "full",
      format: { target: "solution", maxSeqLength: 128, systemPrompt: null },
      trainer: { outputDir: out, batchSize: 2, maxSteps: 2, learningRate: 1e-3, saveEvery: 2 },
      mergedDtype: "f32",
    });
    assert.equal(res.status, "completed");
    assert.equal(res.lora, undefined);
    assert.equal(res.parameters.trainable, res.parameters.total);
    assert.equal(res.adapterDir, undefined);
    assert.equal(res.tunedDir, join(out, "model"));
    assert.deepEqual(readdirSync(res.tunedDir!).sort(), ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    assert.ok(res.steps[1]!.loss < res.steps[0]!.loss, `loss ${res.steps[0]!.loss} → ${res.steps[1]!.loss}`);
    res.model.dispose();
  }));
