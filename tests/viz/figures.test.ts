import { test } from "node:test";
import assert from "node:assert/strict";
import {
  accuracyByProblemTypeFigure,
  datasetLengthsFigure,
  gradNormFigure,
  lossCurvesFigure,
  responseLengthsFigure,
  rewardDistributionsFigure,
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

test("reward, response-length and dataset-length histograms", () => {
  const rewards = rewardDistributionsFigure({ accuracy: [1, 0, 1], format: [1, 1, 0] });
  assert.deepEqual(rewards.data.map((t) => [t.name, t.x]), [["accuracy", [1, 0, 1]], ["format", [1, 1, 0]]]);
  const lengths = responseLengthsFigure([10, 20, 30], [true, false, true]);
  assert.deepEqual(lengths.data.map((t) => [t.name, t.x]), [["correct", [10, 30]], ["incorrect", [20]]]);
  assert.deepEqual(responseLengthsFigure([1, 2]).data[0].x, [1, 2]);
  // All-zero rewards still sit on the reward scale [0, 1], not plotly's automatic -0.4…0.4; one trace keeps its legend.
  const zeros = rewardDistributionsFigure({ accuracy: [0, 0, 0] });
  assert.deepEqual((zeros.layout.xaxis as { range: number[] }).range, [-0.05, 1.05]);
  assert.equal(zeros.layout.showlegend, true);
  assert.equal(responseLengthsFigure([1, 2]).layout.showlegend, true);
  assert.equal((rewardDistributionsFigure({ steps: [0, 3] }).layout.xaxis as { range?: number[] }).range, undefined, "other scales are left to plotly");
  const data = datasetLengthsFigure({ train: [1, 2, 3], validation: [4] });
  assert.deepEqual(data.data.map((t) => t.name), ["train (3)", "validation (1)"]);
  assert.equal(data.layout.barmode, "overlay");
});
