/**
 * Group-relative advantages as TRL's GRPOTrainer computes them (`_generate_and_score_completions`,
 * multi_objective_aggregation "sum_then_normalize"): the weighted sum of the reward functions (NaN-skipping, a
 * completion every function declined is unscorable), minus its group's mean, divided by the standard deviation
 * (+ 1e-4) of the group ("group"), of the whole batch ("batch"), or not at all ("none"); unscorable completions
 * get advantage 0.
 */

export type ScaleRewards = "group" | "batch" | "none";

export interface GroupAdvantages {
  /** The weighted reward of each completion (NaN: every reward function returned null). */
  rewards: number[];
  advantages: number[];
  /** Per completion: the std its advantage was (or, with "none", would have been) divided by. */
  std: number[];
  /** Share of completions whose group (or batch) has zero reward spread: they teach nothing. */
  fracZeroStd: number;
}

/** torch.nanmean: the mean of the non-NaN values (NaN when there are none). */
export function nanMean(xs: number[]): number {
  const v = xs.filter((x) => !Number.isNaN(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/** TRL's nanstd: the standard deviation of the non-NaN values with Bessel's correction (NaN below two values). */
export function nanStd(xs: number[]): number {
  const v = xs.filter((x) => !Number.isNaN(x));
  if (v.length < 2) return NaN;
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt((v.reduce((a, x) => a + (x - m) ** 2, 0) / v.length) * (v.length / (v.length - 1)));
}

/**
 * The weighted reward of each completion from `perFunc[i][k]` (completion i, function k; null where the function
 * declined): Σ_k w_k · r_ik over the defined values (torch.nansum), NaN where none is defined.
 */
export function weightedRewards(perFunc: (number | null)[][], weights: number[]): number[] {
  return perFunc.map((row) => {
    if (row.length !== weights.length) throw new Error(`weightedRewards: ${row.length} rewards for ${weights.length} weights`);
    if (row.every((r) => r === null || Number.isNaN(r))) return NaN;
    return row.reduce<number>((s, r, k) => (r === null || Number.isNaN(r) ? s : s + weights[k]! * r), 0);
  });
}

/**
 * Advantages for completions laid out group by group (`numGenerations` consecutive completions per prompt, as TRL's
 * RepeatSampler lays them out).
 */
export function groupAdvantages(rewards: number[], numGenerations: number, scale: ScaleRewards): GroupAdvantages {
  const G = numGenerations;
  if (!Number.isInteger(G) || G < 1) throw new Error(`groupAdvantages: numGenerations must be a positive integer, got ${G}`);
  if (rewards.length % G !== 0) throw new Error(`groupAdvantages: ${rewards.length} rewards are not groups of ${G}`);
  const groups = rewards.length / G;
  const mean: number[] = [], std: number[] = [];
  for (let g = 0; g < groups; g++) {
    const group = rewards.slice(g * G, (g + 1) * G);
    const m = nanMean(group);
    // With one generation there is no spread to measure (TRL: zeros).
    const s = scale === "batch" ? (rewards.length > 1 ? nanStd(rewards) : 0) : G > 1 ? nanStd(group) : 0;
    for (let i = 0; i < G; i++) mean.push(m), std.push(s);
  }
  // A group whose (defined) rewards are all equal has advantage exactly 0: its mean may differ from them in the
  // last bit (8 × 0.2 / 8 ≠ 0.2 in floating point), which would leave ~1e-17 advantages that still cost a backward pass.
  const flat = Array.from({ length: groups }, (_, g) => {
    const v = rewards.slice(g * G, (g + 1) * G).filter((x) => !Number.isNaN(x));
    return v.every((x) => x === v[0]);
  });
  const advantages = rewards.map((r, i) => {
    if (flat[Math.floor(i / G)]) return 0;
    const a = scale === "none" ? r - mean[i]! : (r - mean[i]!) / (std[i]! + 1e-4);
    return Number.isNaN(a) ? 0 : a;
  });
  // torch.isclose(std, 0): |std| <= 1e-8 (NaN is not close to 0).
  const fracZeroStd = std.filter((s) => Math.abs(s) <= 1e-8).length / std.length;
  return { rewards, advantages, std, fracZeroStd };
}
