import { test } from "node:test";
import assert from "node:assert/strict";
import {
  accuracyByProblemTypeFigure,
  accuracyCurveFigure,
  datasetLengthsFigure,
  gradNormFigure,
  lossCurvesFigure,
  responseLengthsFigure,
  rewardDistributionsFigure,
  rewardLabel,
  tokensPerSecondFigure,
} from "../../src/viz/index.js";

const history = [
  { _step: 5, "train/global_step": 5, "train/loss": 2.0, "train/learning_rate": 1e-4, "train/grad_norm": 3, "train/tokens_per_second": 900 },
  { _step: 10, "train/global_step": 10, "train/loss": 1.5, "train/learning_rate": 2e-4, "eval/loss": 1.7, "train/tokens_per_second": 950 },
  { _step: 12, "eval/accuracy": 0.5 }, // no global_step: falls back to _step; has none of the curves' keys
  { _step: 15, "train/global_step": 15, "train/loss": Number.NaN, "train/learning_rate": 1e-4, "train/grad_norm": 1 },
];

test("loss curves: train and eval loss by global step, learning rate on the right axis, non-finite points left out", () => {
  const fig = lossCurvesFigure(history);
  const [train, evalLoss, lr] = fig.data;
  assert.deepEqual([train.x, train.y], [[5, 10], [2.0, 1.5]]);
  assert.deepEqual([evalLoss.x, evalLoss.y], [[10], [1.7]]);
  assert.deepEqual([lr.x, lr.y, lr.yaxis], [[5, 10, 15], [1e-4, 2e-4, 1e-4], "y2"]);
  assert.equal((fig.layout.yaxis2 as { overlaying: string }).overlaying, "y");
});

test("grad norm and tokens/s curves", () => {
  assert.deepEqual([gradNormFigure(history).data[0].x, gradNormFigure(history).data[0].y], [[5, 15], [3, 1]]);
  assert.deepEqual(tokensPerSecondFigure(history).data[0].y, [900, 950]);
});

test("accuracy by problem type: bars sorted by type, labelled in percent", () => {
  const fig = accuracyByProblemTypeFigure({ Geometry: 0.25, Algebra: 0.5 }, { Algebra: 4, Geometry: 8 });
  assert.deepEqual(fig.data[0].x, ["Algebra", "Geometry"]);
  assert.deepEqual(fig.data[0].y, [0.5, 0.25]);
  assert.deepEqual(fig.data[0].text, ["50.0%", "25.0%"]);
  assert.deepEqual(fig.data[0].hovertext, ["4 samples", "8 samples"]);
});

test("rewards as small multiples: one panel per reward on its own axes, named in words, every colour its own", () => {
  const rewards = rewardDistributionsFigure({ correctness: [1, 0, 1], reasoningSteps: [1, 0.67, 1], tag_count: [0, 0, 0] });
  assert.deepEqual(rewards.data.map((t) => [t.name, t.x, t.xaxis, t.yaxis]), [
    ["correct (1) or not (0)", [1, 0, 1], "x", "y"],
    ["reasoning steps", [1, 0.67, 1], "x2", "y2"],
    ["tag count", [0, 0, 0], "x3", "y3"],
  ]);
  assert.equal(rewards.layout.barmode, undefined, "never overlaid");
  assert.deepEqual(rewards.layout.grid, { rows: 1, columns: 3, pattern: "independent", xgap: 0.12, ygap: 0.35 });
  assert.deepEqual((rewards.layout.annotations as { text: string; xref: string }[]).map((a) => [a.text, a.xref]), [
    ["correct (1) or not (0)", "x domain"], ["reasoning steps", "x2 domain"], ["tag count", "x3 domain"],
  ]);
  // Rewards in [0, 1] keep that axis in every panel (all zeros included), in bins of 0.05.
  for (const k of ["xaxis", "xaxis2", "xaxis3"]) assert.deepEqual((rewards.layout[k] as { range: number[] }).range, [-0.05, 1.05]);
  assert.deepEqual(rewards.data[0]!.xbins, { start: -0.025, end: 1.025, size: 0.05 });
  const seven = rewardDistributionsFigure(Object.fromEntries(["a", "b", "c", "d", "e", "f", "g"].map((k) => [k, [0.5]])));
  assert.deepEqual([(seven.layout.grid as { rows: number }).rows, (seven.layout.grid as { columns: number }).columns], [2, 4]);
  assert.equal((rewardDistributionsFigure({ steps: [0, 3] }).layout.xaxis as { range?: number[] }).range, undefined, "other scales are left to plotly");
  assert.equal(rewardLabel("step_by_step"), "step-by-step score");
  assert.equal(rewardLabel("stepByStep"), "step-by-step score");
});

test("answer lengths stack right and wrong answers (no mixed colours); dataset lengths overlay the splits", () => {
  const lengths = responseLengthsFigure([10, 20, 30], [true, false, true]);
  assert.deepEqual(lengths.data.map((t) => [t.name, t.x]), [["correct", [10, 30]], ["wrong", [20]]]);
  assert.equal(lengths.layout.barmode, "stack");
  assert.deepEqual(responseLengthsFigure([1, 2]).data[0].x, [1, 2]);
  assert.equal(responseLengthsFigure([1, 2]).layout.showlegend, true);
  const data = datasetLengthsFigure({ train: [1, 2, 3], validation: [4] });
  assert.deepEqual(data.data.map((t) => t.name), ["train (3)", "validation (1)"]);
});

test("accuracy along the run: base at step 0, checkpoints, fine-tuned, each point labelled", () => {
  const fig = accuracyCurveFigure([{ step: 0, accuracy: 4 / 120 }, { step: 40, accuracy: 0.5417 }, { step: 120, accuracy: 0.775 }]);
  assert.deepEqual([fig.data[0]!.x, fig.data[0]!.text], [[0, 40, 120], ["3.3 %", "54.2 %", "77.5 %"]]);
  assert.equal((fig.layout.yaxis as { tickformat: string }).tickformat, ".0%");
});
