import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MathExample } from "../../src/data/types.js";
import { AnswerChecker, compareSummaries, evaluate, saveResults, type Generation, type Generator } from "../../src/eval/index.js";

const ex = (id: string, answer: string, problemType: string): MathExample => ({
  id,
  problem: `Problem ${id}`,
  solution: "",
  answer,
  problemType,
  questionType: "math-word-problem",
  source: "test",
});

const examples: MathExample[] = [
  ex("a", "\\frac{1}{2}", "Algebra"),
  ex("b", "6", "Algebra"),
  ex("c", "3", "Geometry"),
  ex("d", "", "Geometry"), // no gold answer: unscorable
  ex("e", "7", "Geometry"),
];

/** Replays fixed completions and records the batches it was asked for. */
class FakeGenerator implements Generator {
  readonly name = "fake";
  batches: string[][] = [];
  constructor(private readonly outputs: Record<string, Generation>) {}
  async generate(prompts: string[]): Promise<Generation[]> {
    this.batches.push(prompts);
    return prompts.map((p) => this.outputs[p.split("\n")[0]!.replace("Problem ", "")]!);
  }
}

const outputs: Record<string, Generation> = {
  a: { text: "<think>\nStep 1: x = 1/2\n</think>\n<answer>\n$\\boxed{0.5}$\n</answer>", numTokens: 20, finishReason: "eos" },
  b: { text: "First, 2 + 4 = 6. Second, check 6 = 6. Finally, the answer is $\\boxed{6}$.", numTokens: 30, finishReason: "eos" },
  c: { text: "The answer is $\\boxed{4}$", numTokens: 10, finishReason: "eos" },
  d: { text: "The answer is $\\boxed{4}$", numTokens: 40, finishReason: "eos" },
  e: { text: "Let me think 1 + 1 = 2 and then", numTokens: 64, finishReason: "length" },
};

test("evaluate: batching, scoring and aggregate metrics with a fake generator", async () => {
  const gen = new FakeGenerator(outputs);
  const { samples, summary } = await evaluate(gen, examples, { batchSize: 2 });
  assert.deepEqual(gen.batches.map((b) => b.length), [2, 2, 1]);
  assert.deepEqual(samples.map((s) => s.status), ["correct", "correct", "incorrect", "unscorable", "incorrect"]);
  assert.equal(summary.n, 5);
  assert.equal(summary.scored, 4);
  assert.equal(summary.unscorable, 1);
  assert.equal(summary.accuracy, 2 / 4);
  assert.deepEqual(summary.accuracyByProblemType, {
    Algebra: { n: 2, correct: 2, accuracy: 1 },
    Geometry: { n: 2, correct: 0, accuracy: 0 },
  });
  assert.equal(summary.boxedShare, 4 / 5);
  assert.equal(summary.truncatedShare, 1 / 5);
  assert.equal(summary.responseTokens.median, 30);
  assert.equal(summary.responseTokens.max, 64);
  assert.equal(samples[0]!.rewards.format, 1);
  assert.equal(samples[0]!.rewards.tagCount, 1);
  assert.equal(samples[1]!.rewards.reasoningSteps, 1);
  assert.equal(summary.meanRewards.correctness, 0.5);
  assert.equal(samples[0]!.extracted, "0.5");

  const better = await evaluate(new FakeGenerator({ ...outputs, c: { ...outputs.c!, text: "$\\boxed{3}$" } }), examples, { batchSize: 3 });
  const rows = compareSummaries(summary, better.summary);
  const acc = rows.find((r) => r.metric === "accuracy")!;
  assert.equal(acc.delta, 0.25);

  const dir = mkdtempSync(join(tmpdir(), "eval-"));
  try {
    const paths = saveResults(dir, "base", { samples, summary });
    const lines = readFileSync(paths.samples, "utf8").trim().split("\n");
    assert.equal(lines.length, 5);
    assert.equal(JSON.parse(lines[2]!).correct, false);
    assert.equal(JSON.parse(readFileSync(paths.summary, "utf8")).accuracy, 0.5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("answer checker: a check that exceeds its time limit is incorrect, and the restarted worker checks the next one", async () => {
  const checker = new AnswerChecker({ timeoutMs: 10000 });
  try {
    await checker.start();
    const huge = Array.from({ length: 400 }, (_, i) => `x_{${i}}^{${i}}`).join("+");
    const r = checker.checkStarted(`$${huge}$`, `$\\boxed{${huge}+1}$`, {}, 1);
    assert.equal(r.timedOut, true);
    assert.equal(r.correct, false);
    await checker.start();
    const ok = checker.checkStarted("$\\frac{1}{3}$", "so $\\boxed{\\frac{2}{6}}$");
    assert.deepEqual([ok.correct, ok.timedOut, ok.predExtracted], [true, false, "\\frac{2}{6}"]);
  } finally {
    checker.close();
  }
});

test("modelGenerator: the TF.js Qwen2 + Qwen2.5 tokenizer behind the Generator interface, no tensor leak", async () => {
  const tf = await import("@tensorflow/tfjs");
  const { selectBackend } = await import("../../src/backend.js");
  const { randomQwen2Model } = await import("../../src/model/random.js");
  const { loadTokenizer } = await import("../../src/tokenizer/index.js");
  const { modelGenerator, samplesTable } = await import("../../src/eval/index.js");
  await selectBackend();
  const model = randomQwen2Model();
  const tokenizer = loadTokenizer();
  const before = tf.memory().numTensors;
  const { samples, summary } = await evaluate(modelGenerator("random", model, tokenizer), examples.slice(0, 3), { batchSize: 2, maxNewTokens: 4 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(summary.n, 3);
  for (const s of samples) {
    assert.ok(s.numTokens >= 1 && s.numTokens <= 4);
    assert.ok(s.finishReason === "length" || s.finishReason === "eos");
    assert.equal(typeof s.prediction, "string");
  }
  const table = samplesTable(samples);
  assert.deepEqual(table.columns, ["problem", "gold", "prediction", "extracted", "correct", "step score"]);
  assert.equal(table.data.length, 3);
});

test("evaluate: a signal stops it after the current batch; given those samples back it goes on from the next batch", async () => {
  const controller = new AbortController();
  const saved: string[] = [];
  const first = await evaluate(new FakeGenerator(outputs), examples, {
    batchSize: 2,
    signal: controller.signal,
    onBatch: (batch) => saved.push(...batch.map((s) => s.id)),
    onProgress: (done) => void (done === 2 && controller.abort()),
  });
  assert.equal(first.interrupted, true);
  assert.deepEqual(first.samples.map((s) => s.id), ["a", "b"]);
  assert.deepEqual(saved, ["a", "b"]);
  assert.equal(first.summary.n, 2);

  const gen = new FakeGenerator(outputs);
  const resumed = await evaluate(gen, examples, { batchSize: 2, previous: first.samples });
  assert.deepEqual(gen.batches.map((b) => b.map((p) => p.split("\n")[0])), [["Problem c", "Problem d"], ["Problem e"]]);
  const straight = await evaluate(new FakeGenerator(outputs), examples, { batchSize: 2 });
  assert.equal(resumed.interrupted, undefined);
  assert.deepEqual(resumed.samples, straight.samples);
  // Samples that are not whole batches of the first problems are not trusted: redone.
  const again = new FakeGenerator(outputs);
  await evaluate(again, examples, { batchSize: 2, previous: [first.samples[0]!, straight.samples[2]!] });
  assert.equal(again.batches.length, 3);
});
