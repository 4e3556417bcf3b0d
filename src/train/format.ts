import { promptMessages, targetText, type PromptOptions, type TargetSource } from "../data/prompt.js";
import type { MathExample } from "../data/types.js";
import type { ChatTurn, Tokenizer } from "../tokenizer/index.js";
import { parseSettings } from "../settings.js";
import { formatSettings, MIN_COMPLETION_TOKENS, type TrainJobSettings } from "./settings.js";

export { MIN_COMPLETION_TOKENS };

export type OverLengthPolicy = TrainJobSettings["overLength"];

/** The formatting settings (target, maxSeqLength, overLength: src/train/settings.ts) and the system turn. */
export interface FormatOptions extends PromptOptions {
  /** The assistant turn: the reference solution or the verified reasoning trace. */
  target?: TargetSource;
  maxSeqLength?: number;
  /**
   * What to do with an example longer than maxSeqLength. "truncate": keep the whole prompt and cut the
   * MIDDLE of the completion (its first ⌊b/2⌋ and last ⌈b/2⌉ tokens stay, b = maxSeqLength − prompt length),
   * so the final \boxed{} answer and <|im_end|> are still learned; an example whose prompt leaves fewer than
   * MIN_COMPLETION_TOKENS for the completion is dropped. "drop": drop it.
   */
  overLength?: OverLengthPolicy;
}

/** One training sequence: labels are -100 on the prompt (through the assistant header). */
export interface TokenizedExample {
  id: string;
  inputIds: number[];
  labels: number[];
  promptLength: number;
  truncated: boolean;
}

export interface FormatReport {
  total: number;
  kept: number;
  truncated: number;
  droppedTooLong: number;
  /** target "reasoning" on an example that has no verified trace. */
  droppedNoTarget: number;
  /** Target tokens kept / target tokens before truncation. */
  targetTokenFraction: number;
}

type ChatTokenizer = Pick<Tokenizer, "applyChatTemplate" | "encode">;

/**
 * Token ids and labels of one example. The prompt (rendered with the generation prompt, i.e. through
 * "<|im_start|>assistant\n") and the completion (the rest of the full render: target, <|im_end|>, "\n") are
 * encoded separately and concatenated: the prompt tokens are then exactly those the model sees at inference.
 */
export function tokenizeChat(tokenizer: ChatTokenizer, prompt: ChatTurn[], completion: string): { inputIds: number[]; promptLength: number } {
  const promptText = tokenizer.applyChatTemplate(prompt, { addGenerationPrompt: true });
  const fullText = tokenizer.applyChatTemplate([...prompt, { role: "assistant", content: completion }]);
  if (!fullText.startsWith(promptText)) {
    throw new Error("The chat template does not render the prompt as a prefix of the full conversation; labels cannot be masked");
  }
  const promptIds = tokenizer.encode(promptText, { addSpecialTokens: false });
  const completionIds = tokenizer.encode(fullText.slice(promptText.length), { addSpecialTokens: false });
  return { inputIds: [...promptIds, ...completionIds], promptLength: promptIds.length };
}

/** Formats, tokenizes, masks and length-limits examples; the report says what was truncated or dropped. */
export function tokenizeExamples(
  examples: MathExample[],
  tokenizer: ChatTokenizer,
  opts: FormatOptions,
): { examples: TokenizedExample[]; report: FormatReport } {
  const { maxSeqLength, overLength, target } = parseSettings(formatSettings, { target: opts.target, maxSeqLength: opts.maxSeqLength, overLength: opts.overLength }, "Format options");
  const out: TokenizedExample[] = [];
  const report: FormatReport = { total: examples.length, kept: 0, truncated: 0, droppedTooLong: 0, droppedNoTarget: 0, targetTokenFraction: 1 };
  let targetBefore = 0;
  let targetAfter = 0;
  for (const ex of examples) {
    const completion = targetText(ex, target);
    if (completion === undefined) {
      report.droppedNoTarget++;
      continue;
    }
    const { inputIds, promptLength } = tokenizeChat(tokenizer, promptMessages(ex.problem, opts), completion);
    const completionLength = inputIds.length - promptLength;
    targetBefore += completionLength;
    let ids = inputIds;
    if (ids.length > maxSeqLength) {
      const budget = maxSeqLength - promptLength;
      if (overLength === "drop" || budget < MIN_COMPLETION_TOKENS) {
        report.droppedTooLong++;
        continue;
      }
      const head = Math.floor(budget / 2);
      ids = [...inputIds.slice(0, promptLength + head), ...inputIds.slice(inputIds.length - (budget - head))];
    }
    const labels = ids.map((id, i) => (i < promptLength ? -100 : id));
    const truncated = ids.length < inputIds.length;
    if (truncated) report.truncated++;
    targetAfter += ids.length - promptLength;
    out.push({ id: ex.id, inputIds: ids, labels, promptLength, truncated });
  }
  report.kept = out.length;
  report.targetTokenFraction = targetBefore === 0 ? 1 : targetAfter / targetBefore;
  return { examples: out, report };
}

/** One line for logs: "54 examples: 50 kept (3 truncated), 2 dropped too long, 2 without a target". */
export function describeFormatReport(r: FormatReport): string {
  return `${r.total} examples: ${r.kept} kept (${r.truncated} truncated, ${(100 * r.targetTokenFraction).toFixed(1)}% of target tokens kept), ` +
    `${r.droppedTooLong} dropped as too long, ${r.droppedNoTarget} dropped without a target`;
}
