import { axis, title, type Figure } from "./figure.js";

/** Accuracy for each problem_type, as bars (0–100 %), with the sample count in the hover text when given. */
export function accuracyByProblemTypeFigure(accuracy: Record<string, number>, counts?: Record<string, number>): Figure {
  const types = Object.keys(accuracy).sort();
  return {
    data: [
      {
        type: "bar",
        x: types,
        y: types.map((t) => accuracy[t]),
        text: types.map((t) => `${(100 * accuracy[t]).toFixed(1)}%`),
        textposition: "auto",
        ...(counts ? { hovertext: types.map((t) => `${counts[t] ?? 0} samples`) } : {}),
      },
    ],
    layout: { title: title("Accuracy by problem type"), xaxis: axis("problem type"), yaxis: axis("accuracy", { range: [0, 1], tickformat: ".0%" }) },
  };
}

/** One histogram per reward (overlaid), e.g. accuracy, format, reasoning_steps; rewards in [0, 1] keep that axis. */
export function rewardDistributionsFigure(rewards: Record<string, readonly number[]>): Figure {
  const all = Object.values(rewards).flat();
  const unit = all.every((v) => v >= 0 && v <= 1);
  return {
    data: Object.entries(rewards).map(([name, values]) => ({
      type: "histogram", name, x: [...values], opacity: 0.6, ...(unit ? { xbins: { start: -0.025, end: 1.025, size: 0.05 } } : {}),
    })),
    layout: {
      title: title("Reward distributions"), barmode: "overlay", showlegend: true,
      xaxis: axis("reward", unit ? { range: [-0.05, 1.05] } : {}), yaxis: axis("samples"),
    },
  };
}

/** Response lengths, split into correct and incorrect answers when `correct` is given. */
export function responseLengthsFigure(lengths: readonly number[], correct?: readonly boolean[], unit = "tokens"): Figure {
  const data = correct
    ? [
        { type: "histogram", name: "correct", x: lengths.filter((_, i) => correct[i]), opacity: 0.6 },
        { type: "histogram", name: "incorrect", x: lengths.filter((_, i) => !correct[i]), opacity: 0.6 },
      ]
    : [{ type: "histogram", name: "responses", x: [...lengths] }];
  return { data, layout: { title: title("Response lengths"), barmode: "overlay", showlegend: true, xaxis: axis(unit), yaxis: axis("responses") } };
}

/** Length histograms of a dataset, one per split (e.g. {train, validation}) overlaid. */
export function datasetLengthsFigure(lengthsBySplit: Record<string, readonly number[]>, unit = "tokens", bins = 40): Figure {
  return {
    data: Object.entries(lengthsBySplit).map(([split, values]) => ({ type: "histogram", name: `${split} (${values.length})`, x: [...values], nbinsx: bins, opacity: 0.6 })),
    layout: { title: title("Example lengths"), barmode: "overlay", xaxis: axis(unit), yaxis: axis("examples") },
  };
}
