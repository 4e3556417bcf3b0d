/** Tables and figures of an evaluation for notebooks and reports (plain data; viz renders them). */
import type { Figure } from "../viz/figure.js";
import type { SampleResult } from "./types.js";
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

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : "—");
const num = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "—");
const REWARD_WORDS: Record<string, string> = {
  correctness: "correct (0 or 1)",
  accuracy: "accuracy reward (open-r1)",
  format: "format reward: <think>/<answer> tags",
  tagCount: "tag-count reward",
  reasoningSteps: "reasoning-steps reward",
  equations: "written-out equations",
  stepByStep: "step-by-step score",
};

/** The headline numbers of one run, in words, rounded to what 1/n resolves. */
export function summaryTable(s: EvalSummary): EvalTable {
  const correct = Math.round(s.accuracy * s.scored);
  return {
    columns: ["", "value"],
    data: [
      ["model", s.model],
      ["problems (scored / unscorable)", `${s.n} (${s.scored} / ${s.unscorable})`],
      ["accuracy", Number.isFinite(s.accuracy) ? `${pct(s.accuracy)} (${correct} of ${s.scored})` : "—"],
      ...Object.entries(s.meanRewards).map(([k, v]) => [`mean ${REWARD_WORDS[k] ?? k}`, num(v)]),
      ["answer length in tokens (mean / median / 90th percentile / longest)", [s.responseTokens.mean, s.responseTokens.median, s.responseTokens.p90, s.responseTokens.max].map((x) => num(x, 0)).join(" / ")],
      ["answers with a \\boxed{}", pct(s.boxedShare)],
      ["cut off at the token limit", pct(s.truncatedShare)],
      ["answer checks that timed out", s.timedOut],
    ],
  };
}

/** A comparison row's metric in words (compareSummaries' keys: accuracy, reward.<name>, response_tokens.mean, …). */
export function metricLabel(metric: string): string {
  if (metric.startsWith("reward.")) return REWARD_WORDS[metric.slice(7)] ?? metric.slice(7);
  return { accuracy: "accuracy", "response_tokens.mean": "answer length (tokens, mean)", boxed_share: "answers with a \\boxed{}", truncated_share: "cut off at the token limit" }[metric] ?? metric;
}

const isShare = (metric: string) => metric === "accuracy" || metric.endsWith("_share");
const show = (metric: string, x: number) => (isShare(metric) ? pct(x) : metric.startsWith("response_tokens") ? num(x, 1) : num(x));

/** Base vs fine-tuned rows as a table: metrics in words, shares in percent, rewards to 2 decimals. */
export function comparisonTable(rows: ComparisonRow[], labels: [string, string] = ["base", "fine-tuned"]): EvalTable {
  return {
    columns: ["", labels[0], labels[1], "change"],
    data: rows.map((r) => {
      const delta = isShare(r.metric) ? (Number.isFinite(r.delta) ? `${r.delta >= 0 ? "+" : ""}${(100 * r.delta).toFixed(1)} points` : "—") : `${r.delta >= 0 ? "+" : ""}${show(r.metric, r.delta)}`;
      return [metricLabel(r.metric), show(r.metric, r.base), show(r.metric, r.tuned), delta];
    }),
  };
}

/** Grouped bars of the metrics that live in [0, 1] (accuracy, rewards, shares), base next to fine-tuned, named in words. */
export function comparisonFigure(rows: ComparisonRow[], labels: [string, string] = ["base", "fine-tuned"]): Figure {
  const unit = rows.filter((r) => !r.metric.startsWith("response_tokens"));
  const x = unit.map((r) => metricLabel(r.metric));
  return {
    data: [
      { type: "bar", name: labels[0], x, y: unit.map((r) => r.base) },
      { type: "bar", name: labels[1], x, y: unit.map((r) => r.tuned) },
    ],
    layout: { title: { text: `${labels[0]} vs ${labels[1]}` }, barmode: "group", yaxis: { title: { text: "mean over the answers (0–1)" }, range: [0, 1] }, xaxis: { automargin: true } },
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
