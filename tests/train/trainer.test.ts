import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  accumulateGradients,
  collate,
  countTargetTokens,
  listCheckpoints,
  loadCheckpoint,
  train,
  TrainingDivergedError,
  type TrainableModel,
  type TrainerCallback,
} from "../../src/train/index.js";
import { createToyModel, toyExamples } from "./toy-model.js";

const V = 16;
const tmp = () => mkdtempSync(join(tmpdir(), "trainer-"));
const weights = (m: TrainableModel) => new Map([...m.trainableVariables()].map(([k, v]) => [k, Array.from(v.dataSync())]));
const maxAbsDiff = (a: Map<string, number[]>, b: Map<string, number[]>) =>
  Math.max(...[...a].map(([k, xs]) => Math.max(...xs.map((x, i) => Math.abs(x - b.get(k)![i]!)))));


/** A toy model and a temporary checkpoint folder for `body`, both gone afterwards whatever happens. */
async function withToyModel(seed: number, body: (model: ReturnType<typeof createToyModel>, dir: string) => Promise<void>): Promise<void> {
  const dir = tmp();
  const model = createToyModel({ vocab: V, dim: 8, seed });
  try {
    await body(model, dir);
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a toy model overfits a handful of examples", async () => {
  const dir = tmp();
  const model = createToyModel({ vocab: V, dim: 16, seed: 1 });
  try {
    const res = await train({
      model, train: toyExamples(6, V, 0), padTokenId: V - 1,
      config: { outputDir: dir, batchSize: 2, gradientAccumulation: 1, learningRate: 0.05, maxSteps: 150, warmupRatio: 0.05, maxGradNorm: 5 },
    });
    const first = res.steps[0]!.loss;
    const last = res.steps.at(-1)!.loss;
    assert.ok(first > 2, `initial loss ${first}`);
    assert.ok(last < first / 50, `loss fell from ${first} to ${last} only`);
    assert.equal(res.status, "completed");
    assert.equal(res.globalStep, 150);
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loss = summed NLL over the micro-batches / target tokens of the whole accumulated batch", async () => {
  const model = createToyModel({ vocab: V, dim: 8, seed: 2 });
  const examples = toyExamples(4, V, 3);
  const perExample = examples.map((e) => {
    const b = collate([e], V - 1);
    const s = model.sumLoss(b, { training: false });
    const out = { sum: s.dataSync()[0]!, n: countTargetTokens(b) };
    s.dispose();
    return out;
  });
  const expected = perExample.reduce((a, x) => a + x.sum, 0) / perExample.reduce((a, x) => a + x.n, 0);
  const { loss, grads } = await accumulateGradients(model, [collate(examples.slice(0, 1), V - 1), collate(examples.slice(1), V - 1)], { training: false });
  assert.ok(Math.abs(loss - expected) < 1e-5, `${loss} vs ${expected}`);
  tf.dispose([...grads.values()]);
  model.dispose();
});

test("k micro-batches == one k-times larger batch (gradients and updated weights)", async () => {
  const examples = toyExamples(4, V, 5);
  const a = createToyModel({ vocab: V, dim: 8, seed: 3 });
  const b = createToyModel({ vocab: V, dim: 8, seed: 3 });
  const ga = await accumulateGradients(a, examples.map((e) => collate([e], V - 1)), { training: false });
  const gb = await accumulateGradients(b, [collate(examples, V - 1)], { training: false });
  for (const [k, g] of ga.grads) {
    const x = g.dataSync();
    const y = gb.grads.get(k)!.dataSync();
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= 1e-6 + 1e-5 * Math.abs(y[i]!), `${k}[${i}]`);
  }
  tf.dispose([...ga.grads.values(), ...gb.grads.values()]);

  const dirs = [tmp(), tmp()];
  const common = { learningRate: 0.01, maxSteps: 1, warmupRatio: 0, weightDecay: 0.01, maxGradNorm: 0, seed: 7 };
  await train({ model: a, train: examples, padTokenId: V - 1, config: { ...common, outputDir: dirs[0]!, batchSize: 1, gradientAccumulation: 4 } });
  await train({ model: b, train: examples, padTokenId: V - 1, config: { ...common, outputDir: dirs[1]!, batchSize: 4, gradientAccumulation: 1 } });
  assert.ok(maxAbsDiff(weights(a), weights(b)) < 1e-6);
  [a, b].forEach((m) => m.dispose());
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const resumeConfig = (outputDir: string) => ({
  outputDir, batchSize: 2, gradientAccumulation: 2, learningRate: 0.02, maxSteps: 10, warmupRatio: 0.2,
  saveEvery: 3, keepCheckpoints: 2, logEvery: 4, seed: 11, evalEvery: 5, evalOnStart: false,
});

test("resume after an interruption gives bit-identical losses (with dropout) and keeps the last checkpoints", async () => {
  const data = toyExamples(10, V, 1);
  const val = toyExamples(3, V, 9);
  const straightDir = tmp();
  const straight = createToyModel({ vocab: V, dim: 8, seed: 4, dropout: 0.2 });
  const ends: Record<string, number>[] = [];
  const endSummary: TrainerCallback = { onTrainEnd: (summary) => void ends.push(summary) };
  const full = await train({ model: straight, train: data, validation: val, padTokenId: V - 1, config: resumeConfig(straightDir), callbacks: [endSummary] });
  assert.equal(full.steps.length, 10);

  const dir = tmp();
  const first = createToyModel({ vocab: V, dim: 8, seed: 4, dropout: 0.2 });
  const controller = new AbortController();
  const stopAt7: TrainerCallback = { onStepEnd: (_logs, s) => void (s.globalStep === 7 && controller.abort()) };
  const part1 = await train({ model: first, train: data, validation: val, padTokenId: V - 1, config: resumeConfig(dir), callbacks: [stopAt7], signal: controller.signal });
  assert.equal(part1.status, "aborted");
  assert.equal(part1.globalStep, 7);
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [6, 7], "an interrupted run checkpoints where it stopped");
  first.dispose();

  // A fresh process would start from a freshly initialised model: different weights until the checkpoint loads.
  const resumed = createToyModel({ vocab: V, dim: 8, seed: 99, dropout: 0.2 });
  const part2 = await train({ model: resumed, train: data, validation: val, padTokenId: V - 1, config: resumeConfig(dir), resumeFrom: "latest", callbacks: [endSummary] });
  assert.deepEqual(part2.steps.map((s) => s.step), [8, 9, 10]);
  // The summary's train_loss is the whole run's mean step loss, the steps before the interruption included.
  const meanLoss = full.steps.reduce((sum, s) => sum + s.loss, 0) / 10;
  assert.ok(Math.abs(ends[1]!.train_loss! - meanLoss) < 1e-12 && Math.abs(ends[0]!.train_loss! - meanLoss) < 1e-12);
  assert.equal(ends[1]!.eval_loss, ends[0]!.eval_loss);
  assert.deepEqual(part2.steps.map((s) => s.loss), full.steps.slice(7).map((s) => s.loss));
  assert.deepEqual(part2.steps.map((s) => s.gradNorm), full.steps.slice(7).map((s) => s.gradNorm));
  assert.deepEqual(part2.evals, full.evals.filter((e) => e.step > 7));
  assert.deepEqual(weights(resumed), weights(straight));
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [9, 10]);
  const state = JSON.parse(readFileSync(join(dir, "checkpoint-10", "trainer_state.json"), "utf8"));
  const untimed = (h: Record<string, number>[]) => h.map(({ tokens_per_second: _, ...rest }) => rest);
  const straightState = JSON.parse(readFileSync(join(straightDir, "checkpoint-10", "trainer_state.json"), "utf8"));
  assert.deepEqual(untimed(state.logHistory), untimed(straightState.logHistory));
  [straight, resumed].forEach((m) => m.dispose());
  [straightDir, dir].forEach((d) => rmSync(d, { recursive: true, force: true }));
});

test("a crash while writing a checkpoint leaves the last good one intact and no partial folder", async () => {
  const dir = tmp();
  const model = createToyModel({ vocab: V, dim: 8, seed: 5 });
  let saves = 0;
  const saveAdapter = (d: string) => {
    if (++saves === 2) throw new Error("disk full (simulated)");
    void d;
  };
  await assert.rejects(
    train({ model, train: toyExamples(6, V, 2), padTokenId: V - 1, config: { ...resumeConfig(dir), evalEvery: 0 }, outputs: { saveAdapter } }),
    /disk full/,
  );
  assert.deepEqual(readdirSync(dir), ["checkpoint-3"]);
  const s = JSON.parse(readFileSync(join(dir, "checkpoint-3", "trainer_state.json"), "utf8"));
  assert.equal(s.globalStep, 3);
  // and it resumes from there
  const again = await train({ model, train: toyExamples(6, V, 2), padTokenId: V - 1, config: { ...resumeConfig(dir), evalEvery: 0 }, resumeFrom: "latest" });
  assert.equal(again.steps[0]!.step, 4);
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("NaN loss stops training with a clear message and keeps the last good checkpoint", async () => {
  const dir = tmp();
  const inner = createToyModel({ vocab: V, dim: 8, seed: 6 });
  let calls = 0;
  const poisoned: TrainableModel = {
    trainableVariables: () => inner.trainableVariables(),
    // 2 micro-batches per step: the 9th call is step 5
    sumLoss: (b, o) => tf.tidy(() => (++calls >= 9 ? inner.sumLoss(b, o).mul(NaN) : inner.sumLoss(b, o))),
  };
  const before = weights(inner);
  let err: unknown;
  try {
    await train({ model: poisoned, train: toyExamples(8, V, 4), padTokenId: V - 1, config: { ...resumeConfig(dir), evalEvery: 0 } });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TrainingDivergedError);
  assert.equal(err.step, 5);
  assert.match(err.message, /step 5: the loss or gradient norm is NaN/);
  assert.match(err.message, /checkpoint-3/);
  assert.equal(err.lastCheckpoint, join(dir, "checkpoint-3"));
  // The poisoned loss is NaN from then on, from any weights: no checkpoint can be resumed from, and the error says so.
  assert.deepEqual(err.checked.map((c) => [c.step, c.usable]), [[3, false]]);
  assert.match(err.message, /checkpoint-3 cannot be resumed from: the step after it gives loss NaN.*\nNo kept checkpoint can be resumed from/s);
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [3]);
  assert.notDeepEqual(weights(inner), before);
  for (const xs of weights(inner).values()) assert.ok(xs.every(Number.isFinite), "no NaN update applied");
  inner.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("no tensor leaks: numTensors is flat across steps, evaluation and checkpoints", async () => {
  const dir = tmp();
  const model = createToyModel({ vocab: V, dim: 8, seed: 8, dropout: 0.1 });
  const counts: number[] = [];
  const probe: TrainerCallback = { onStepEnd: () => void counts.push(tf.memory().numTensors) };
  const before = tf.memory().numTensors;
  await train({ model, train: toyExamples(8, V, 6), validation: toyExamples(3, V, 7), padTokenId: V - 1, config: { ...resumeConfig(dir), evalEvery: 2 }, callbacks: [probe] });
  assert.equal(new Set(counts).size, 1, `numTensors per step: ${counts.join(",")}`);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("callbacks get transformers' log keys; final outputs are written", async () => {
  const dir = tmp();
  const model = createToyModel({ vocab: V, dim: 8, seed: 9 });
  const logs: Record<string, number>[] = [];
  const evals: Record<string, number>[] = [];
  const saved: string[] = [];
  let begin: Record<string, unknown> | undefined;
  let end: Record<string, number> | undefined;
  const cb: TrainerCallback = {
    onTrainBegin: (c) => void (begin = c),
    onLog: (l) => void logs.push(l),
    onEvaluate: (m) => void evals.push(m),
    onSave: (d) => void saved.push(d),
    onTrainEnd: (s) => void (end = s),
  };
  const written: string[] = [];
  const res = await train({
    model, train: toyExamples(8, V, 6), validation: toyExamples(3, V, 7), padTokenId: V - 1,
    config: { ...resumeConfig(dir), logEvery: 2, evalEvery: 4, saveEvery: 5 }, callbacks: [cb],
    outputs: { saveAdapter: (d) => void written.push(`adapter:${d}`), saveMerged: (d) => void written.push(`merged:${d}`), tokenizer: { saveTo: (d) => written.push(`tok:${d}`) } },
  });
  assert.equal(begin!.maxSteps, 10);
  assert.equal(logs.length, 5);
  assert.deepEqual(Object.keys(logs[0]!).sort(), ["epoch", "grad_norm", "learning_rate", "loss", "num_tokens", "tokens_per_second"]);
  assert.deepEqual(evals.map((e) => Object.keys(e)), [["eval_loss"], ["eval_loss"], ["eval_loss"]]);
  assert.deepEqual(saved, [join(dir, "checkpoint-5"), join(dir, "checkpoint-10")]);
  assert.deepEqual(Object.keys(end!).sort(), ["eval_loss", "global_step", "train_loss", "train_runtime", "train_tokens_per_second"]);
  assert.ok(existsSync(join(dir, "checkpoint-10", "optimizer.safetensors")));
  assert.deepEqual(written.slice(-3), [`adapter:${join(dir, "adapter")}`, `merged:${join(dir, "merged")}`, `tok:${join(dir, "merged")}`]);
  assert.equal(res.adapterDir, join(dir, "adapter"));
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("resuming with another learning rate or other data is refused, naming what differs; logging cadence may change", () =>
  withToyModel(7, async (model, dir) => {
  const data = toyExamples(6, V, 2);
  const controller = new AbortController();
  const stop: TrainerCallback = { onStepEnd: (_l, s) => void (s.globalStep === 2 && controller.abort()) };
  await train({ model, train: data, padTokenId: V - 1, config: resumeConfig(dir), callbacks: [stop], signal: controller.signal });
  await assert.rejects(
    train({ model, train: data, padTokenId: V - 1, config: { ...resumeConfig(dir), learningRate: 0.5 }, resumeFrom: "latest" }),
    /another training setup \(learningRate [\d.e-]+ here 0\.5\)/,
  );
  await assert.rejects(
    train({ model, train: toyExamples(6, V, 3), padTokenId: V - 1, config: resumeConfig(dir), resumeFrom: "latest" }),
    /another training setup \(examples /,
  );
  const resumed = await train({ model, train: data, padTokenId: V - 1, config: { ...resumeConfig(dir), logEvery: 7, keepCheckpoints: 5 }, resumeFrom: "latest" });
  assert.equal(resumed.steps[0]!.step, 3);
  }));

test("a checkpoint's trajectory holds only trainer settings (those that decide the updates), the step count and the data", () =>
  withToyModel(12, async (model, dir) => {
    await train({ model, train: toyExamples(6, V, 2), padTokenId: V - 1, config: { ...resumeConfig(dir), maxSteps: 3 } });
    const state = JSON.parse(readFileSync(join(dir, "checkpoint-3", "trainer_state.json"), "utf8"));
    assert.deepEqual(Object.keys(state.run).sort(), [
      "batchSize", "beta1", "beta2", "epochs", "eps", "examples", "gradientAccumulation", "learningRate", "maxGradNorm", "maxSteps",
      "minLrRatio", "numExamples", "padToMultipleOf", "schedule", "seed", "warmupRatio", "weightDecay",
    ]);
    assert.equal(state.run.learningRate, 0.02);
  }));

test("a checkpoint made when the pipeline's settings were recorded too (method, target, maxSeqLength, …) still resumes: keys that are not trainer settings are ignored", () =>
  withToyModel(13, async (model, dir) => {
    const data = toyExamples(6, V, 2);
    const controller = new AbortController();
    const stop: TrainerCallback = { onStepEnd: (_l, s) => void (s.globalStep === 3 && controller.abort()) };
    await train({ model, train: data, padTokenId: V - 1, config: resumeConfig(dir), callbacks: [stop], signal: controller.signal });
    const file = join(dir, "checkpoint-3", "trainer_state.json");
    const state = JSON.parse(readFileSync(file, "utf8"));
    // What such a checkpoint held: the pipeline spread its whole train section into the trainer.
    Object.assign(state.run, { method: "lora", target: "solution", maxSeqLength: 256, overLength: "truncate", mergedDtype: "bf16" });
    writeFileSync(file, JSON.stringify(state));
    const resumed = await train({ model, train: data, padTokenId: V - 1, config: resumeConfig(dir), resumeFrom: "latest" });
    assert.equal(resumed.steps[0]!.step, 4);
    assert.equal(resumed.globalStep, 10);
    assert.deepEqual(resumed.changes, []);
  }));

test("two trainings into one checkpoint folder: the second is refused while the first runs", () =>
  withToyModel(8, async (model, dir) => {
  let second: unknown;
  // The first waits at its first step until the second has tried.
  const race: TrainerCallback = {
    onStepEnd: async (_l, s) => {
      if (s.globalStep === 1) second = await train({ model, train: toyExamples(6, V, 2), padTokenId: V - 1, config: resumeConfig(dir) }).catch((e: Error) => e);
    },
  };
  const first = await train({ model, train: toyExamples(6, V, 2), padTokenId: V - 1, config: resumeConfig(dir), callbacks: [race] });
  assert.equal(first.status, "completed");
  assert.match(String(second), /checkpoint folder .* is in use by process/);
  assert.ok(!existsSync(join(dir, ".lock")), "the lock is released when training ends");
  }));

test("an interruption is seen after the step it arrives in, not at the next checkpoint", () =>
  withToyModel(9, async (model, dir) => {
  const controller = new AbortController();
  // A signal handler runs as a macrotask, like this one: the loop must yield to the event loop for it.
  const arm: TrainerCallback = { onStepEnd: (_l, s) => void (s.globalStep === 2 && setImmediate(() => controller.abort())) };
  const res = await train({
    model, train: toyExamples(6, V, 2), padTokenId: V - 1, signal: controller.signal, callbacks: [arm],
    config: { ...resumeConfig(dir), maxSteps: 40, saveEvery: 20, evalEvery: 0 },
  });
  assert.equal(res.status, "aborted");
  assert.equal(res.globalStep, 2, "stopped after the step during which the signal arrived");
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [2], "and checkpointed it");
  }));

test("after a divergence the error names the last checkpoint a resume can go on from, and resuming from it with a lower learning rate, accepted, completes and is recorded", () =>
  withToyModel(10, async (inner, dir) => {
    // As weights of 1e30 do in a real model's norms: once a weight passes 100 in magnitude the loss is NaN.
    const model: TrainableModel = {
      trainableVariables: () => inner.trainableVariables(),
      sumLoss: (b, o) =>
        tf.tidy(() => {
          const largest = Math.max(...[...inner.trainableVariables().values()].map((v) => v.abs().max().dataSync()[0]!));
          return inner.sumLoss(b, o).mul(largest > 100 ? NaN : 1);
        }),
    };
    const data = toyExamples(8, V, 4);
    const tensors = tf.memory().numTensors;
    const config = { outputDir: dir, batchSize: 2, gradientAccumulation: 1, learningRate: 40, schedule: "constant" as const, warmupRatio: 0, maxSteps: 8, saveEvery: 1, keepCheckpoints: 8, evalEvery: 0, seed: 3 };
    let err: unknown;
    try {
      await train({ model, train: data, padTokenId: V - 1, config });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof TrainingDivergedError, String(err));
    assert.equal(tf.memory().numTensors, tensors, "checking the checkpoints leaks no tensor");
    const stoppedAt = err.step;
    const largest = (d: string) => {
      const { params } = loadCheckpoint(d);
      return Math.max(...[...params.values()].flatMap((xs) => Array.from(xs, Math.abs)));
    };
    // The checkpoint written just before the stop holds the weights that diverged; the one before it is sound.
    assert.equal(err.lastCheckpoint, join(dir, `checkpoint-${stoppedAt - 1}`));
    assert.ok(largest(err.lastCheckpoint) > 100);
    assert.deepEqual(err.checked.map((c) => [c.step, c.usable]), [[stoppedAt - 1, false], [stoppedAt - 2, true]]);
    assert.equal(err.usableCheckpoint, join(dir, `checkpoint-${stoppedAt - 2}`));
    assert.ok(largest(err.usableCheckpoint) <= 100);
    assert.match(err.message, new RegExp(`checkpoint-${stoppedAt - 1} cannot be resumed from: the step after it gives loss NaN`));
    assert.match(err.message, new RegExp(`checkpoint-${stoppedAt - 2} is the last checkpoint to resume from .*accepting that change \\(allowChanges`));

    // The advice followed without accepting the change: refused, saying how to accept it.
    const lower = { ...config, learningRate: 0.05 };
    await assert.rejects(
      train({ model, train: data, padTokenId: V - 1, config: lower, resumeFrom: err.usableCheckpoint }),
      /another training setup \(learningRate 40 here 0\.05\); an exact resume needs the same — to resume with learningRate changed, accept the change \(allowChanges/,
    );
    await assert.rejects(
      train({ model, train: data, padTokenId: V - 1, config: { ...lower, batchSize: 4 }, resumeFrom: err.usableCheckpoint, allowChanges: ["learningRate", "batchSize"] }),
      /allowChanges: batchSize cannot change on a resume \(only learningRate, maxGradNorm/,
    );
    const resumed = await train({ model, train: data, padTokenId: V - 1, config: lower, resumeFrom: err.usableCheckpoint, allowChanges: ["learningRate"] });
    assert.equal(resumed.status, "completed");
    assert.equal(resumed.steps[0]!.step, stoppedAt - 1);
    assert.ok(resumed.steps.every((s) => Number.isFinite(s.loss)));
    const change = { step: stoppedAt - 2, from: { learningRate: 40 }, to: { learningRate: 0.05 } };
    assert.deepEqual(resumed.changes, [change]);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "checkpoint-8", "trainer_state.json"), "utf8")).changes, [change], "recorded in the checkpoints");
    // From a checkpoint made after the change, the new settings are the run's: a plain resume needs no acceptance.
    const again = await train({ model, train: data, padTokenId: V - 1, config: { ...lower, maxSteps: 8 }, resumeFrom: join(dir, "checkpoint-7") });
    assert.deepEqual(again.changes, [change]);
  }));
