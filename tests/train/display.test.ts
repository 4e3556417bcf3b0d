import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { LiveTrainingDisplay, lineChartSvg, ProgressBarCallback } from "../../src/train/index.js";

const state = (globalStep: number) => ({ globalStep, maxSteps: 3, epoch: globalStep / 3 });

test("live display redraws one output with loss, validation and learning-rate charts", async () => {
  const shown: string[] = [];
  const d = new LiveTrainingDisplay({ html: (s) => void shown.push(s) });
  await d.onTrainBegin({}, state(0));
  for (const s of [1, 2, 3]) d.onStepEnd({ loss: 3 - s, learning_rate: s * 1e-3, grad_norm: 1, tokens_per_second: 100 }, state(s));
  d.onEvaluate({ eval_loss: 1.5 }, state(3));
  d.onTrainEnd({ global_step: 3, train_runtime: 1.25, train_loss: 1, eval_loss: 1.5 });
  assert.equal(shown.length, 6);
  const last = shown.at(-1)!;
  assert.match(last, /done: step 3, 3 of them here in 1\.3 s, mean train loss 1\.0000, final validation loss 1\.5000/);
  assert.equal((last.match(/<svg/g) ?? []).length, 2);
  assert.equal((last.match(/<polyline/g) ?? []).length, 2); // train loss, lr (one eval point is a circle)
  assert.equal((last.match(/<circle/g) ?? []).length, 1);
});

test("a resumed run's display draws what the run logged before its checkpoint, then goes on; a complete one says so", async () => {
  const shown: string[] = [];
  const earlier = [
    { _step: 0, "train/global_step": 0, "eval/loss": 2 },
    { _step: 1, "train/global_step": 1, "train/loss": 2.5, "train/learning_rate": 1e-3 },
    { _step: 2, "train/global_step": 2, "train/loss": 2, "train/learning_rate": 2e-3, "eval/loss": 1.8 },
    { _step: 3, "train/global_step": 3, "train/loss": 1.9, "train/learning_rate": 2e-3 }, // after the checkpoint: logged again
  ];
  const d = new LiveTrainingDisplay({ html: (s) => void shown.push(s) }, earlier);
  await d.onTrainBegin({}, state(2));
  assert.match(shown.at(-1)!, /starting at step 2 of 3/);
  assert.equal((shown.at(-1)!.match(/<polyline/g) ?? []).length, 3, "train loss, validation loss and lr from the record");
  d.onStepEnd({ loss: 1.5, learning_rate: 1e-3, grad_norm: 1, tokens_per_second: 100 }, state(3));
  d.onTrainEnd({ global_step: 3, train_runtime: 0.5, train_loss: 2 });
  assert.match(shown.at(-1)!, /done: step 3, 1 of them here in 0\.5 s/);
  const complete = new LiveTrainingDisplay({ html: (s) => void shown.push(s) }, earlier);
  await complete.onTrainBegin({}, state(3));
  assert.match(shown.at(-1)!, /already complete: step 3 of 3/);
});

test("line chart: points map to the plot area (first at the left axis, last at the right edge)", () => {
  const svg = lineChartSvg("t", [{ name: "a", color: "#000", points: [[0, 0], [10, 1]] }], { width: 100, height: 100 });
  // margins l 62, r 12, t 24, b 34 → x ∈ [62, 88], y ∈ [66, 24]
  assert.match(svg, /points="62\.0,66\.0 88\.0,24\.0"/);
  assert.doesNotThrow(() => lineChartSvg("empty", [{ name: "a", color: "#000", points: [] }]));
});

test("progress bar writes steps, loss and learning rate", () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c) => (text += c));
  Object.assign(out, { isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  const bar = new ProgressBarCallback(out as unknown as NodeJS.WriteStream);
  bar.onTrainBegin({}, state(0));
  bar.onStepEnd({ loss: 2.5, learning_rate: 1e-3, grad_norm: 1, tokens_per_second: 1234 }, state(1));
  bar.onTrainEnd();
  assert.match(text, /1\/3 steps \| loss 2\.500 \| eval - \| lr 1\.00e-3 \| 1234 tok\/s/);
});

test("log history in W&B naming for the charts", async () => {
  const { historyToMetricRows } = await import("../../src/train/index.js");
  assert.deepEqual(historyToMetricRows([{ step: 2, loss: 1.5, learning_rate: 1e-3 }, { step: 2, eval_loss: 1.7 }]), [
    { "train/global_step": 2, "train/loss": 1.5, "train/learning_rate": 1e-3 },
    { "train/global_step": 2, "eval/loss": 1.7 },
  ]);
});
