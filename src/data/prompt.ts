/**
 * The chat a problem becomes, as open-r1 writes it: the system prompt, the problem with DeepSeek-R1's math instruction,
 * and the assistant target (the reference solution or the verified reasoning trace). Training, evaluation, serving,
 * the export and pretraining all build their prompts here.
 */
import type { ChatTurn } from "../tokenizer/index.js";
import type { MathExample } from "./types.js";

/** open-r1's system prompt (recipes' GRPO config_demo), the default system turn. */
export const OPEN_R1_SYSTEM_PROMPT =
  "You are a helpful AI Assistant that provides well-reasoned and detailed responses. You first think about the " +
  "reasoning process as an internal monologue and then provide the user with the answer. Respond in the following " +
  "format: <think>\n...\n</think>\n<answer>\n...\n</answer>";

/** DeepSeek-R1 / open-r1's math instruction, appended to every problem. */
export const MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}.";

export type TargetSource = "solution" | "reasoning";

export interface PromptOptions {
  /** The system turn; null leaves it out (the chat template may then insert its own default). */
  systemPrompt?: string | null;
}

/** The prompt turns for a problem: system (optional) and user = problem + the math instruction. */
export function promptMessages(problem: string, opts: PromptOptions = {}): ChatTurn[] {
  const system = opts.systemPrompt === undefined ? OPEN_R1_SYSTEM_PROMPT : opts.systemPrompt;
  const user: ChatTurn = { role: "user", content: `${problem}\n${MATH_INSTRUCTION}` };
  return system === null ? [user] : [{ role: "system", content: system }, user];
}

/** The assistant target of an example, or undefined when the chosen source is missing. */
export function targetText(example: MathExample, target: TargetSource = "solution"): string | undefined {
  const text = target === "solution" ? example.solution : example.reasoning;
  return text && text.trim() ? text : undefined;
}
