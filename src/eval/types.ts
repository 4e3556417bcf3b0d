/** What the evaluation stage passes around: a generator's completions, and each sample's scores. */
import type { CorrectnessStatus } from "./rewards.js";

export interface EvalSamplingOptions {
  maxNewTokens: number;
  /** 0 = greedy decoding. */
  temperature: number;
  topP: number;
  seed: number;
}

export interface Generation {
  text: string;
  /** Generated tokens (without the prompt). */
  numTokens: number;
  /** "eos": end-of-sequence token; "stop": a stop string; "length": max_new_tokens reached (truncated). */
  finishReason: "eos" | "stop" | "length";
}

/** What the evaluation needs from a model: completions for a batch of user prompts (chat template applied inside). */
export interface Generator {
  readonly name: string;
  generate(prompts: string[], options: EvalSamplingOptions): Promise<Generation[]>;
}

export interface SampleRewards {
  /** 1 / 0, null when unscorable. */
  correctness: number | null;
  /** open-r1 accuracy_reward (null: gold unparseable). */
  accuracy: number | null;
  format: number;
  tagCount: number;
  reasoningSteps: number;
  equations: number;
  stepByStep: number;
}

export interface SampleResult {
  id: string;
  problem: string;
  problemType: string;
  gold: string;
  prediction: string;
  extracted: string | null;
  status: CorrectnessStatus;
  correct: boolean | null;
  timedOut: boolean;
  rewards: SampleRewards;
  steps: number;
  numTokens: number;
  finishReason: Generation["finishReason"];
  hasBoxed: boolean;
  truncated: boolean;
}
