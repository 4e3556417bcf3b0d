/** Tables and figures of an evaluation for notebooks and reports (plain data; viz renders them). */
import type { Figure } from "../viz/figure.js";
import type { SampleResult } from "./run.js";
import type { ComparisonRow, EvalSummary } from "./summary.js";

export interface EvalTable {
  columns: string[];
  data: unknown[][];
}

/** One row per sample: problem, gold, prediction, extracted answer, correct, step score. */
export function samplesTable(samples: SampleResult[]): EvalTable {
  return {
    columns: ["problem", "gold", "prediction", "extracted", "correct", "step score"],
    data: samples.map((s) => [
      s.problem,
      s.gold,
      s.prediction,
      s.extracted ?? "—",
      s.correct === null ? "unscorable" : s.correct ? "✓" : "✗",
      Number(s.rewards.stepByStep.toFixed(3)),
    ]),
  };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "—");
const num = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(3)) : "—");

/** The headline numbers of one run. */
export function summaryTable(s: EvalSummary): EvalTable {
  return {
    columns: ["metric", "value"],
    data: [
      ["model", s.model],
      ["problems", s.n],
      ["scored / unscorable", `${s.scored} / ${s.unscorable}`],
      ["accuracy", pct(s.accuracy)],
      ...Object.entries(s.meanRewards).map(([k, v]) => [`mean ${k}`, num(v)]),
      ["response tokens (mean / median / p90 / max)", [s.responseTokens.mean, s.responseTokens.median, s.responseTokens.p90, s.responseTokens.max].map(num).join(" / ")],
      ["with a \\boxed answer", pct(s.boxedShare)],
      ["truncated (max_new_tokens)", pct(s.truncatedShare)],
      ["checks timed out", s.timedOut],
    ],
  };
}

/** Base vs fine-tuned rows as a table. */
export function comparisonTable(rows: ComparisonRow[], labels: [string, string] = ["base", "fine-tuned"]): EvalTable {
  return { columns: ["metric", labels[0], labels[1], "Δ"], data: rows.map((r) => [r.metric, num(r.base), num(r.tuned), num(r.delta)]) };
}

/** Grouped bars of the metrics that live in [0, 1] (accuracy, rewards, shares), base next to fine-tuned. */
export function comparisonFigure(rows: ComparisonRow[], labels: [string, string] = ["base", "fine-tuned"]): Figure {
  const unit = rows.filter((r) => !r.metric.startsWith("response_tokens"));
  return {
    data: [
      { type: "bar", name: labels[0], x: unit.map((r) => r.metric), y: unit.map((r) => r.base) },
      { type: "bar", name: labels[1], x: unit.map((r) => r.metric), y: unit.map((r) => r.tuned) },
    ],
    layout: { title: { text: `${labels[0]} vs ${labels[1]}` }, barmode: "group", yaxis: { title: { text: "value" }, range: [0, 1] } },
  };
}

/** Per-reward value lists (for rewardDistributionsFigure); null rewards are left out. */
export function rewardSeries(samples: SampleResult[]): Record<string, number[]> {
  const keys = Object.keys(samples[0]?.rewards ?? {}) as (keyof SampleResult["rewards"])[];
  return Object.fromEntries(keys.map((k) => [k, samples.map((s) => s.rewards[k]).filter((v): v is number => v !== null)]));
}

const mark = (s: SampleResult) => (s.correct === null ? "unscorable" : s.correct ? "✓" : "✗");

/**
 * Two evaluations of the same problems side by side (in the order evaluated): the problem, the gold answer,
 * and for each model what it wrote and whether it was right. Throws when the samples are not the same problems.
 */
export function sideBySideTable(first: SampleResult[], second: SampleResult[], labels: [string, string] = ["base", "fine-tuned"]): EvalTable {
  const n = Math.min(first.length, second.length);
  for (let i = 0; i < n; i++) {
    if (first[i]!.id !== second[i]!.id) throw new Error(`sideBySideTable: sample ${i} is problem ${first[i]!.id} on one side and ${second[i]!.id} on the other`);
  }
  return {
    columns: ["problem", "gold", `${labels[0]} answer`, labels[0], `${labels[1]} answer`, labels[1]],
    data: first.slice(0, n).map((a, i) => {
      const b = second[i]!;
      return [a.problem, a.gold, a.prediction, mark(a), b.prediction, mark(b)];
    }),
  };
}

/** Accuracy per group of samples (`groupOf` names a sample's group, e.g. how many steps its problem takes); unscorable samples left out. */
export function accuracyByGroup(samples: SampleResult[], groupOf: (s: SampleResult) => string): Record<string, { n: number; correct: number; accuracy: number }> {
  const groups: Record<string, { n: number; correct: number; accuracy: number }> = {};
  for (const s of samples) {
    if (s.correct === null) continue;
    const g = (groups[groupOf(s)] ??= { n: 0, correct: 0, accuracy: 0 });
    g.n++;
    if (s.correct) g.correct++;
  }
  for (const g of Object.values(groups)) g.accuracy = g.correct / g.n;
  return groups;
}

/** Grouped bars: each evaluation's accuracy per group of problems (groups in sorted order), the count in the hover text. */
export function accuracyByGroupFigure(
  runs: { label: string; samples: SampleResult[] }[],
  groupOf: (s: SampleResult) => string,
  options: { title?: string; groupTitle?: string } = {},
): Figure {
  const byRun = runs.map((r) => ({ label: r.label, groups: accuracyByGroup(r.samples, groupOf) }));
  const names = [...new Set(byRun.flatMap((r) => Object.keys(r.groups)))].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return {
    data: byRun.map((r) => ({
      type: "bar",
      name: r.label,
      x: names,
      y: names.map((g) => r.groups[g]?.accuracy ?? null),
      text: names.map((g) => (r.groups[g] ? `${(100 * r.groups[g]!.accuracy).toFixed(0)}%` : "")),
      textposition: "auto",
      hovertext: names.map((g) => `${r.groups[g]?.correct ?? 0} of ${r.groups[g]?.n ?? 0} correct`),
    })),
    layout: {
      title: { text: options.title ?? "Accuracy by group" },
      barmode: "group",
      xaxis: { title: { text: options.groupTitle ?? "group" } },
      yaxis: { title: { text: "accuracy" }, range: [0, 1], tickformat: ".0%" },
    },
  };
}
