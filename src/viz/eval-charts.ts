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

const REWARD_LABELS: Record<string, string> = {
  correctness: "correct (1) or not (0)",
  accuracy: "accuracy (open-r1's reward)",
  format: "format: <think>/<answer> tags",
  tagCount: "tag count",
  reasoningSteps: "reasoning steps",
  equations: "written-out equations",
  stepByStep: "step-by-step score",
};

/** A reward's name in words: "reasoningSteps" and "reasoning_steps" → "reasoning steps". */
export function rewardLabel(name: string): string {
  const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return REWARD_LABELS[camel] ?? name.replace(/[_.]/g, " ").replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`);
}

/**
 * One small histogram per reward (small multiples, never overlaid: every panel reads on its own), named in words,
 * on a shared scale; rewards in [0, 1] keep that axis, in bins of 0.05.
 */
export function rewardDistributionsFigure(rewards: Record<string, readonly number[]>): Figure {
  const names = Object.keys(rewards);
  const all = Object.values(rewards).flat();
  const unit = all.every((v) => v >= 0 && v <= 1);
  const columns = Math.min(names.length, 4);
  const rows = Math.ceil(names.length / columns);
  const axisName = (i: number, letter: "x" | "y") => `${letter}${i === 0 ? "" : i + 1}`;
  const layout: Record<string, unknown> = {
    title: title("How the rewards are spread over the answers"),
    showlegend: false,
    grid: { rows, columns, pattern: "independent", xgap: 0.12, ygap: 0.35 },
    annotations: names.map((name, i) => ({
      text: rewardLabel(name), showarrow: false, xref: `${axisName(i, "x")} domain`, yref: `${axisName(i, "y")} domain`,
      x: 0.5, y: 1.12, xanchor: "center", yanchor: "bottom", font: { size: 12 },
    })),
  };
  const layoutKey = (i: number, letter: "x" | "y") => `${letter}axis${i === 0 ? "" : i + 1}`;
  names.forEach((_, i) => {
    layout[layoutKey(i, "x")] = unit ? { range: [-0.05, 1.05] } : {};
    layout[layoutKey(i, "y")] = i % columns === 0 ? axis("answers") : {};
  });
  return {
    data: names.map((name, i) => ({
      type: "histogram", name: rewardLabel(name), x: [...rewards[name]!], xaxis: axisName(i, "x"), yaxis: axisName(i, "y"),
      ...(unit ? { xbins: { start: -0.025, end: 1.025, size: 0.05 } } : {}),
    })),
    layout,
  };
}

/** Response lengths, stacked into correct and incorrect answers when `correct` is given (so every colour is in the legend). */
export function responseLengthsFigure(lengths: readonly number[], correct?: readonly boolean[], unit = "tokens"): Figure {
  const data = correct
    ? [
        { type: "histogram", name: "correct", x: lengths.filter((_, i) => correct[i]) },
        { type: "histogram", name: "wrong", x: lengths.filter((_, i) => !correct[i]) },
      ]
    : [{ type: "histogram", name: "answers", x: [...lengths] }];
  return { data, layout: { title: title("Answer lengths"), barmode: "stack", showlegend: true, xaxis: axis(`answer length (${unit})`), yaxis: axis("answers") } };
}

/** Length histograms of a dataset, one per split (e.g. {train, validation}) overlaid. */
export function datasetLengthsFigure(lengthsBySplit: Record<string, readonly number[]>, unit = "tokens", bins = 40): Figure {
  return {
    data: Object.entries(lengthsBySplit).map(([split, values]) => ({ type: "histogram", name: `${split} (${values.length})`, x: [...values], nbinsx: bins, opacity: 0.6 })),
    layout: { title: title("Example lengths"), barmode: "overlay", xaxis: axis(unit), yaxis: axis("examples") },
  };
}
