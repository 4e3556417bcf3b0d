import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../../src/backend.js";
import { generatedRow, generateProblems } from "../../src/data/synthetic/index.js";
import { toMathExample } from "../../src/data/preprocess.js";
import { evaluate, loadModelGenerator } from "../../src/eval/index.js";
import { generate, leftPad, Qwen2Model, TINY_MATH_MODEL_DIR } from "../../src/model/index.js";
import { prepareCorpus, PROVENANCE_FILE, runPretrain, type Provenance } from "../../src/pretrain/run.js";
import { TINY_MATH_RECIPE } from "../../src/pretrain/recipe.js";
import { loadTokenizer, trimmedVocabMap } from "../../src/tokenizer/index.js";
import type { TrainerCallback } from "../../src/train/callbacks.js";

const backend = await selectBackend();
const provenance = JSON.parse(readFileSync(join(TINY_MATH_MODEL_DIR, PROVENANCE_FILE), "utf8")) as Provenance;

test("the shipped model is what its provenance describes: the recipe in the code, the file hashes, the vocabulary", () => {
  assert.deepEqual(provenance.recipe, TINY_MATH_RECIPE, "src/pretrain/recipe.ts still holds the recipe the model was made with");
  for (const [file, sha] of Object.entries(provenance.files)) {
    assert.equal(createHash("sha256").update(readFileSync(join(TINY_MATH_MODEL_DIR, file))).digest("hex"), sha, file);
  }
  const config = JSON.parse(readFileSync(join(TINY_MATH_MODEL_DIR, "config.json"), "utf8"));
  assert.equal(config.vocab_size, loadTokenizer(TINY_MATH_MODEL_DIR).vocabSize);
  assert.equal(config.vocab_size, provenance.vocab.size);
});

test("rerunning the recipe reproduces its corpus, its vocabulary and its first losses", async () => {
  const corpus = await prepareCorpus(TINY_MATH_RECIPE);
  assert.equal(corpus.sha256, provenance.corpus.sha256, "the corpus (packed token ids) hashes the same");
  // The shipped tokenizer files stand for exactly the vocabulary the recipe makes, in the same order.
  assert.deepEqual(trimmedVocabMap(loadTokenizer(TINY_MATH_MODEL_DIR), loadTokenizer()).toJSON().ids, corpus.tokenizer.vocabMap!.toJSON().ids);
  const dir = mkdtempSync(join(tmpdir(), "openr1-pretrain-"));
  const controller = new AbortController();
  const steps = 3;
  const losses: number[] = [];
  const stop: TrainerCallback = { onStepEnd: (logs, s) => void (losses.push(logs.loss), s.globalStep === steps && controller.abort()) };
  try {
    await runPretrain({ corpus, outputDir: dir, callbacks: [stop], signal: controller.signal });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const recorded = provenance.training.firstLosses.slice(0, steps);
  // Bit for bit where the model was made; elsewhere MLAS may pick other GEMM kernels (AVX2 vs AVX-512),
  // which round differently: the losses then agree to ~1e-6.
  const exact = losses.every((l, i) => l === recorded[i]);
  console.log(`first losses ${losses.join(", ")} (recorded ${recorded.join(", ")}): ${exact ? "identical" : "within tolerance"} on ${backend.source}`);
  losses.forEach((l, i) => assert.ok(Math.abs(l - recorded[i]) < 1e-5, `step ${i + 1}: ${l} vs recorded ${recorded[i]}`));
});

test("the shipped model writes worked solutions and answers the check problems at its recorded accuracy", async () => {
  const tokenizer = loadTokenizer(TINY_MATH_MODEL_DIR);
  const model = await Qwen2Model.fromDirectory(TINY_MATH_MODEL_DIR);
  const prompt = tokenizer.encode("Problem: Compute 23 + 45.\nSolution:\n", { addSpecialTokens: false });
  const out = generate(model, leftPad([prompt], tokenizer.padTokenId), { maxNewTokens: 32, eosTokenIds: [tokenizer.tokenToId("<|endoftext|>")!] });
  assert.equal(tokenizer.decode(out.newTokens[0], { skipSpecialTokens: true }), "First, 23 + 45 = 68.\nFinally, the answer is \\boxed{68}.");
  model.dispose();

  const { check } = TINY_MATH_RECIPE;
  const examples = [...generateProblems({ seed: check.seed, pool: "finetune", count: check.problems })].map((p) => toMathExample(generatedRow(p)));
  const result = await evaluate(await loadModelGenerator({ model: TINY_MATH_MODEL_DIR, label: "base" }), examples, {
    batchSize: 50, maxNewTokens: check.maxNewTokens, temperature: 0, topP: 1, seed: TINY_MATH_RECIPE.seed,
  });
  // Greedy decoding is deterministic; a different CPU's rounding may flip a near-tie now and then.
  assert.ok(Math.abs(result.summary.accuracy - provenance.check.accuracy) <= 0.03, `accuracy ${result.summary.accuracy} vs recorded ${provenance.check.accuracy}`);
  assert.ok(result.summary.accuracy > 0, "a genuine base model: it answers some problems right");
});
