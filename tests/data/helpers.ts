import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../fixtures/data/", import.meta.url));
export const REWARD_KIT = `${FIXTURES}openr1_first100_numeric.reward-kit.jsonl`;
export const FILTERS = `${FIXTURES}filters.jsonl`;

/** The real (problem, answer) pairs of the reward-kit fixture: the reference for what the sample must hold. */
export function rewardKitReference(): { problem: string; answer: string }[] {
  return readFileSync(REWARD_KIT, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const row = JSON.parse(l) as { messages: { role: string; content: string }[]; ground_truth_answer_from_column: string };
      return {
        problem: row.messages[0].content,
        answer: row.ground_truth_answer_from_column.replace(/^\\boxed\{/, "").replace(/\}$/, ""),
      };
    });
}

export async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}
