import type { EvaluationSample, EvaluationSummary } from "./types.js";

/**
 * What this module reads of the evaluation stage's result (src/eval's EvalResult has this shape; tracking, below
 * the evaluation, does not import it).
 */
export interface EvalResultLike {
  summary: {
    accuracy: number;
    scored: number;
    unscorable: number;
    meanRewards: Record<string, number>;
    accuracyByProblemType: Record<string, { accuracy: number }>;
    responseTokens: { mean: number; median: number; p90: number; max: number };
    boxedShare: number;
    truncatedShare: number;
    timedOut: number;
    seconds: number;
  };
  samples: {
    problem: string;
    problemType: string;
    gold: string;
    prediction: string;
    extracted: string | null;
    correct: boolean | null;
    numTokens: number;
    /** Each reward's value by name (null: undefined for this sample). */
    rewards: { reasoningSteps: number };
  }[];
}

/** camelCase reward names (src/eval) → open-r1's snake_case reward names (reasoningSteps → reasoning_steps). */
const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The evaluation stage's result in the shape `WandbCallback.logEvaluation` logs. */
export function fromEvalResult(result: EvalResultLike): { summary: EvaluationSummary; samples: EvaluationSample[] } {
  const s = result.summary;
  const rewardMeans: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.meanRewards)) rewardMeans[snake(k)] = v;
  const accuracyByProblemType: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.accuracyByProblemType)) accuracyByProblemType[k] = v.accuracy;
  return {
    summary: {
      accuracy: s.accuracy,
      rewardMeans,
      accuracyByProblemType,
      metrics: {
        num_scored: s.scored,
        num_unscorable: s.unscorable,
        "response_tokens/mean": s.responseTokens.mean,
        "response_tokens/median": s.responseTokens.median,
        "response_tokens/p90": s.responseTokens.p90,
        "response_tokens/max": s.responseTokens.max,
        boxed_share: s.boxedShare,
        truncated_share: s.truncatedShare,
        timed_out: s.timedOut,
        runtime: s.seconds,
      },
    },
    samples: result.samples.map((r) => ({
      problem: r.problem,
      problemType: r.problemType,
      gold: r.gold,
      prediction: r.prediction,
      extracted: r.extracted ?? "",
      correct: r.correct,
      stepScore: r.rewards.reasoningSteps,
      responseLength: r.numTokens,
      rewards: Object.fromEntries(Object.entries(r.rewards).map(([k, v]) => [snake(k), v as number | null])),
    })),
  };
}
