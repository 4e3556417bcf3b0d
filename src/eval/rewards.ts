/**
 * Rewards with open-r1's semantics (src/open_r1/rewards.py) plus this project's correctness and
 * step-by-step scores.
 *
 * - accuracy:        open-r1 accuracy_reward: gold parsed with Math-Verify's defaults (first match),
 *                    completion parsed from LaTeX only, boxed first, anchors required; 1/0, or null
 *                    when the gold does not parse (open-r1 skips such examples).
 * - format:          1 when the completion is exactly `<think>\n…\n</think>\n<answer>\n…\n</answer>`.
 * - tag_count:       0.25 for each of `<think>\n`, `\n</think>\n`, `\n<answer>\n`, `\n</answer>` seen once.
 * - reasoning_steps: min(1, count/3) of "Step N:", a leading "N.", "\n-", "\n*", "First,", "Second,", "Next,", "Finally,".
 * - equations:       min(1, count/3) of equations/computations written out (`lhs = rhs` with a digit or
 *                    variable on both sides), the evidence that the steps actually compute something.
 * - step_by_step:    0.5 · reasoning_steps + 0.5 · equations: the two checks weigh the same, so listing
 *                    steps without working (or working without structure) earns at most 0.5.
 */
import { extractAnswer, type ExtractOptions, type ParsedAnswer } from "./extract.js";
import { verifyParsed, type VerifyOptions } from "./verify.js";

const GOLD_EXTRACT: Partial<ExtractOptions> = { matchTypes: ["latex", "expr"], boxedPriority: 50, mode: "first" };
// open-r1 parses completions with NormalizationConfig(nits=False, malformed_operators=False, …): a model is not paid
// for `\frac12` or `\sqrt3`. (nits only rewrites a leading "." and "0.5", which the parser reads the same anyway.)
const COMPLETION_EXTRACT: Partial<ExtractOptions> = {
  matchTypes: ["latex"],
  boxedPriority: 0,
  withoutAnchor: false,
  mode: "first",
  normalization: { malformedOperators: false },
};

function parsedNothing(p: ParsedAnswer): boolean {
  return p.value === null && p.text === null;
}

/** open-r1's accuracy_reward for one completion: 1, 0, or null (gold unparseable, example skipped). */
export function accuracyReward(completion: string, solution: string): number | null {
  const gold = extractAnswer(solution, GOLD_EXTRACT);
  if (parsedNothing(gold)) return null;
  const answer = extractAnswer(completion, COMPLETION_EXTRACT);
  try {
    return verifyParsed(gold, answer) ? 1 : 0;
  } catch {
    return null;
  }
}

const FORMAT_RE = /^<think>\n.*?\n<\/think>\n<answer>\n.*?\n<\/answer>$/msy;

/** open-r1's format_reward (re.match with DOTALL | MULTILINE). */
export function formatReward(completion: string): number {
  FORMAT_RE.lastIndex = 0;
  return FORMAT_RE.test(completion) ? 1 : 0;
}

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** open-r1's tag_count_reward. */
export function tagCountReward(completion: string): number {
  let count = 0;
  if (countOf(completion, "<think>\n") === 1) count += 0.25;
  if (countOf(completion, "\n</think>\n") === 1) count += 0.25;
  if (countOf(completion, "\n<answer>\n") === 1) count += 0.25;
  if (countOf(completion, "\n</answer>") === 1) count += 0.25;
  return count;
}

const STEP_RE = /(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)/g;

export function countReasoningSteps(completion: string): number {
  return [...completion.matchAll(STEP_RE)].length;
}

/** open-r1's reasoning_steps_reward: three or more step markers earn 1. */
export function reasoningStepsReward(completion: string): number {
  return Math.min(1, countReasoningSteps(completion) / 3);
}

// `a = b` where both sides hold a digit or a letter: "2x + 3 = 7", "S_n = n(n+1)/2"; not "==" or "<=".
const EQUATION_RE = /[\w)\]}][^\n=<>!]{0,40}?(?<![<>!=])=(?!=)[^\n=]{0,40}?[\w(\\{]/g;

export function countEquations(completion: string): number {
  return [...completion.matchAll(EQUATION_RE)].length;
}

/** Share of the three written-out equations the step-by-step score expects. */
export function equationPresenceReward(completion: string): number {
  return Math.min(1, countEquations(completion) / 3);
}

/** Step-by-step score: the mean of reasoning_steps and equation presence (see the module comment). */
export function stepByStepReward(completion: string): number {
  return 0.5 * reasoningStepsReward(completion) + 0.5 * equationPresenceReward(completion);
}

export type CorrectnessStatus = "correct" | "incorrect" | "unscorable";

export interface Correctness {
  status: CorrectnessStatus;
  /** 1 / 0, or null when the gold answer cannot be parsed (kept apart from 0). */
  reward: number | null;
  goldExtracted: string | null;
  predExtracted: string | null;
  predHasBoxed: boolean;
}

/** Gold answers in the dataset are bare LaTeX (`\frac{1}{2}`); wrap them so the LaTeX targets see them. */
export function goldAsLatex(answer: string): string {
  const a = answer.trim();
  return /\$|\\\(|\\\[|\\boxed/.test(a) ? a : `$${a}$`;
}

/**
 * Correctness of a generated solution against the dataset's answer: the gold is parsed from the
 * answer column (LaTeX or plain), the prediction with Math-Verify's default targets, `\boxed{}` first.
 */
export function correctnessReward(prediction: string, goldAnswer: string, options: Partial<VerifyOptions> = {}): Correctness {
  const gold = extractAnswer(goldAsLatex(goldAnswer), { matchTypes: ["latex", "expr"], boxedPriority: 0 });
  const pred = extractAnswer(prediction, { matchTypes: options.matchTypes ?? ["latex", "expr"], boxedPriority: 0 });
  const predHasBoxed = /\\boxed\s*\{/.test(prediction);
  const goldExtracted = gold.valueText ?? gold.text;
  const predExtracted = pred.valueText ?? pred.text;
  if (gold.value === null) return { status: "unscorable", reward: null, goldExtracted, predExtracted, predHasBoxed };
  const ok = verifyParsed(gold, pred, options);
  return { status: ok ? "correct" : "incorrect", reward: ok ? 1 : 0, goldExtracted, predExtracted, predHasBoxed };
}
