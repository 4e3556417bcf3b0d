/** Aggregate metrics of an evaluation run, and base-vs-fine-tuned comparison. */
import type { SampleResult, SampleRewards } from "./types.js";

export interface LengthStats {
  mean: number;
  median: number;
  p90: number;
  max: number;
}

export interface EvalSummary {
  model: string;
  n: number;
  /** Samples whose gold answer parsed (the accuracy denominator). */
  scored: number;
  unscorable: number;
  /** correct / scored (NaN when nothing was scorable). */
  accuracy: number;
  /** Mean of each reward over the samples where it is defined. */
  meanRewards: Record<keyof SampleRewards, number>;
  accuracyByProblemType: Record<string, { n: number; correct: number; accuracy: number }>;
  responseTokens: LengthStats;
  boxedShare: number;
  truncatedShare: number;
  timedOut: number;
  seconds: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

export function summarize(model: string, samples: SampleResult[], seconds = 0): EvalSummary {
  const scored = samples.filter((s) => s.correct !== null);
  const correct = scored.filter((s) => s.correct).length;
  const keys: (keyof SampleRewards)[] = ["correctness", "accuracy", "format", "tagCount", "reasoningSteps", "equations", "stepByStep"];
  const meanRewards = Object.fromEntries(
    keys.map((k) => [k, mean(samples.map((s) => s.rewards[k]).filter((v): v is number => v !== null))]),
  ) as Record<keyof SampleRewards, number>;
  const byType: EvalSummary["accuracyByProblemType"] = {};
  for (const s of scored) {
    const t = (byType[s.problemType || "unknown"] ??= { n: 0, correct: 0, accuracy: 0 });
    t.n++;
    if (s.correct) t.correct++;
  }
  for (const t of Object.values(byType)) t.accuracy = t.correct / t.n;
  const lengths = samples.map((s) => s.numTokens).sort((a, b) => a - b);
  return {
    model,
    n: samples.length,
    scored: scored.length,
    unscorable: samples.length - scored.length,
    accuracy: scored.length ? correct / scored.length : Number.NaN,
    meanRewards,
    accuracyByProblemType: byType,
    responseTokens: { mean: mean(lengths), median: quantile(lengths, 0.5), p90: quantile(lengths, 0.9), max: lengths.length ? lengths[lengths.length - 1]! : Number.NaN },
    boxedShare: samples.length ? samples.filter((s) => s.hasBoxed).length / samples.length : Number.NaN,
    truncatedShare: samples.length ? samples.filter((s) => s.truncated).length / samples.length : Number.NaN,
    timedOut: samples.filter((s) => s.timedOut).length,
    seconds,
  };
}

export interface ComparisonRow {
  metric: string;
  base: number;
  tuned: number;
  delta: number;
}

/** Base vs fine-tuned, one row per headline metric. */
export function compareSummaries(base: EvalSummary, tuned: EvalSummary): ComparisonRow[] {
  const rows: [string, (s: EvalSummary) => number][] = [
    ["accuracy", (s) => s.accuracy],
    ...(Object.keys(base.meanRewards) as (keyof SampleRewards)[]).map(
      (k) => [`reward.${k}`, (s: EvalSummary) => s.meanRewards[k]] as [string, (s: EvalSummary) => number],
    ),
    ["response_tokens.mean", (s) => s.responseTokens.mean],
    ["boxed_share", (s) => s.boxedShare],
    ["truncated_share", (s) => s.truncatedShare],
  ];
  return rows.map(([metric, f]) => ({ metric, base: f(base), tuned: f(tuned), delta: f(tuned) - f(base) }));
}
