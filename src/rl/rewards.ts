/**
 * The reward functions GRPO can train on, under open-r1's names (src/open_r1/rewards.py), each scoring one
 * completion of one problem: 1/0/partial, or null where it cannot judge (open-r1's accuracy_reward skips an
 * unparseable gold). The answer checks run in the evaluation's time-limited worker (src/eval/checker.ts), so a
 * pathological sampled completion cannot stall training; a check that times out earns 0.
 */
import type { MathExample } from "../data/types.js";
import { AnswerChecker } from "../eval/checker.js";
import { formatReward, goldAsLatex, reasoningStepsReward, stepByStepReward, tagCountReward } from "../eval/rewards.js";

export const REWARD_FUNCS = ["accuracy", "correctness", "format", "tag_count", "reasoning_steps", "step_by_step"] as const;
export type RewardFuncName = (typeof REWARD_FUNCS)[number];

/** One line per reward, for help texts and docs. */
export const REWARD_DESCRIPTIONS: Record<RewardFuncName, string> = {
  accuracy: "open-r1's accuracy_reward: 1 when the completion's LaTeX answer (\\boxed{} first) verifies against the gold answer",
  correctness: "the evaluation's check (LaTeX or plain expressions, \\boxed{} first): 1 when the answer verifies",
  format: "open-r1's format_reward: 1 for exactly <think>\\n…\\n</think>\\n<answer>\\n…\\n</answer>",
  tag_count: "open-r1's tag_count_reward: 0.25 per think/answer tag written once",
  reasoning_steps: "open-r1's reasoning_steps_reward: min(1, step markers / 3)",
  step_by_step: "half reasoning_steps, half written-out equations (min(1, equations / 3)): steps that compute",
};

/** A reward function of your own (TRL takes callables too): a score for one completion of one problem, or null to abstain. */
export type RewardFunction = (completion: string, example: MathExample) => number | null;

export function checkRewardNames(names: readonly string[], weights: readonly number[] | null, custom: Record<string, RewardFunction> = {}): void {
  if (names.length === 0) throw new Error("GRPO needs at least one reward function");
  for (const n of names) {
    if (!(REWARD_FUNCS as readonly string[]).includes(n) && !(n in custom)) {
      throw new Error(`Unknown reward function "${n}" (use ${[...REWARD_FUNCS, ...Object.keys(custom)].join(", ")})`);
    }
  }
  if (new Set(names).size !== names.length) throw new Error(`Reward functions are listed twice: ${names.join(", ")}`);
  if (weights && weights.length !== names.length) {
    throw new Error(`rewardWeights has ${weights.length} values for ${names.length} reward functions (${names.join(", ")}); they must match`);
  }
}

/** Scores completions with the chosen reward functions; `close()` stops the checker's worker. */
export class RewardScorer {
  private readonly checker: AnswerChecker;

  /** `custom`: more reward functions by name (they take precedence over the built-in ones of the same name). */
  constructor(readonly names: readonly string[], private readonly custom: Record<string, RewardFunction> = {}, options: { checkTimeoutMs?: number } = {}) {
    checkRewardNames(names, null, custom);
    this.checker = new AnswerChecker({ timeoutMs: options.checkTimeoutMs ?? 5000 });
  }

  /** rewards[i][k]: completion i (of `examples[i]`) under function k. */
  async score(completions: string[], examples: MathExample[]): Promise<(number | null)[][]> {
    if (completions.length !== examples.length) throw new Error(`RewardScorer: ${completions.length} completions for ${examples.length} examples`);
    const out: (number | null)[][] = [];
    for (let i = 0; i < completions.length; i++) {
      const text = completions[i]!, gold = goldAsLatex(examples[i]!.answer);
      const row: (number | null)[] = [];
      for (const name of this.names) {
        const own = this.custom[name];
        if (own) {
          const r = own(text, examples[i]!);
          row.push(r === null || Number.isNaN(r) ? null : r);
          continue;
        }
        switch (name as RewardFuncName) {
          case "accuracy": {
            await this.checker.start(); // again after a time-out killed the worker
            const r = this.checker.accuracyStarted(text, gold);
            row.push(r.timedOut ? 0 : (r.reward ?? null));
            break;
          }
          case "correctness": {
            await this.checker.start();
            const r = this.checker.checkStarted(gold, text, { boxedPriority: 0 });
            row.push(r.timedOut ? 0 : r.goldParsed ? (r.correct ? 1 : 0) : null);
            break;
          }
          case "format":
            row.push(formatReward(text));
            break;
          case "tag_count":
            row.push(tagCountReward(text));
            break;
          case "reasoning_steps":
            row.push(reasoningStepsReward(text));
            break;
          case "step_by_step":
            row.push(stepByStepReward(text));
            break;
        }
      }
      out.push(row);
    }
    return out;
  }

  close(): void {
    this.checker.close();
  }
}
