import { axis, title, type Figure, type MetricRow } from "./figure.js";

/** The x value of a history row: transformers' `train/global_step`, else W&B's `_step`. */
function stepOf(row: MetricRow): number | undefined {
  const s = row["train/global_step"] ?? row._step;
  return typeof s === "number" ? s : undefined;
}

/** (step, value) pairs of a metric over the rows that have it as a finite number. */
export function metricSeries(rows: readonly MetricRow[], key: string): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (const row of rows) {
    const v = row[key];
    const s = stepOf(row);
    if (typeof v === "number" && Number.isFinite(v) && s !== undefined) {
      x.push(s);
      y.push(v);
    }
  }
  return { x, y };
}

function line(rows: readonly MetricRow[], key: string, name: string, extra: Record<string, unknown> = {}) {
  return { type: "scatter", mode: "lines+markers", name, ...metricSeries(rows, key), ...extra };
}

/** Training and evaluation loss, with the learning rate on a second y axis. */
export function lossCurvesFigure(history: readonly MetricRow[]): Figure {
  return {
    data: [
      line(history, "train/loss", "train loss"),
      line(history, "eval/loss", "eval loss", { line: { dash: "dash" } }),
      line(history, "train/learning_rate", "learning rate", { yaxis: "y2", mode: "lines", line: { color: "rgba(120,120,120,0.7)", width: 1 } }),
    ],
    layout: {
      title: title("Loss and learning rate"),
      xaxis: axis("step"),
      yaxis: axis("loss"),
      yaxis2: axis("learning rate", { overlaying: "y", side: "right", exponentformat: "e", showgrid: false }),
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/** One metric of the history against the step. */
export function metricCurveFigure(history: readonly MetricRow[], key: string, label = key): Figure {
  return {
    data: [line(history, key, label)],
    layout: { title: title(label), xaxis: axis("step"), yaxis: axis(label), showlegend: false },
  };
}

/** Gradient norm before clipping, per logged step. */
export function gradNormFigure(history: readonly MetricRow[]): Figure {
  return metricCurveFigure(history, "train/grad_norm", "gradient norm (before clipping)");
}

/** Training throughput, per logged step. */
export function tokensPerSecondFigure(history: readonly MetricRow[]): Figure {
  return metricCurveFigure(history, "train/tokens_per_second", "tokens per second");
}

/**
 * Accuracy along the run: the base model at step 0, each evaluated checkpoint, the fine-tuned model at the last
 * step, each point labelled with its percentage.
 */
export function accuracyCurveFigure(points: readonly { step: number; accuracy: number }[]): Figure {
  return {
    data: [
      {
        type: "scatter",
        mode: "lines+markers+text",
        x: points.map((p) => p.step),
        y: points.map((p) => p.accuracy),
        text: points.map((p) => `${(100 * p.accuracy).toFixed(1)} %`),
        textposition: "top center",
        cliponaxis: false,
      },
    ],
    layout: {
      title: title("Accuracy on the validation problems along the run"),
      xaxis: axis("training step (0: the base model)"),
      yaxis: axis("accuracy", { range: [0, 1.1], tickformat: ".0%" }),
      showlegend: false,
    },
  };
}
