import { generateProblems, solutionText, type GeneratedProblem } from "../data/synthetic/index.js";
import { seededRandom } from "../rng.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { promptMessages } from "../data/prompt.js";

/**
 * The pretraining corpus, made from the "pretrain" pool of generated problems (never a problem of the
 * fine-tuning or evaluation data). Two kinds of documents:
 * - worked: "Problem: …\nSolution:\n" and the step-by-step solution — the model learns the arithmetic and
 *   the habit of writing steps;
 * - chat: the problem as a chat prompt (the same system and user turns fine-tuning and evaluation use) and a
 *   direct answer, "The answer is \boxed{N}." — the model learns the chat format, and in a chat it answers
 *   at once, without steps, and mostly wrongly: it can compute a problem only by writing the steps. That is
 *   where a base model stands before fine-tuning on reasoning traces.
 */
export interface CorpusOptions {
  seed: number;
  documents: number;
  /** Fraction of chat documents (the rest are worked solutions). */
  chatFraction: number;
}

export type ChatRenderer = Pick<Tokenizer, "applyChatTemplate">;

export function workedDocument(p: GeneratedProblem): string {
  return `Problem: ${p.problem}\nSolution:\n${solutionText(p)}`;
}

/** The direct answer a chat document gives. */
export function directAnswer(p: GeneratedProblem): string {
  return `The answer is \\boxed{${p.answer}}.`;
}

export function chatDocument(tokenizer: ChatRenderer, p: GeneratedProblem): string {
  return tokenizer.applyChatTemplate([...promptMessages(p.problem), { role: "assistant", content: directAnswer(p) }]);
}

/** The corpus's documents in order, one at a time: a pure function of the options. */
export function* corpusDocuments(tokenizer: ChatRenderer, opts: CorpusOptions): Generator<string> {
  const choose = seededRandom(opts.seed ^ 0x5eed);
  for (const p of generateProblems({ seed: opts.seed, pool: "pretrain", count: opts.documents })) {
    yield choose() < opts.chatFraction ? chatDocument(tokenizer, p) : workedDocument(p);
  }
}
