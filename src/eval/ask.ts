import { buildPrompt, DEFAULT_EVAL_CONFIG, type EvalSamplingOptions, type Generator } from "./run.js";
import { extractAnswer } from "./extract.js";
import type { EvalTable } from "./report.js";

/**
 * One problem of your own, put to several models with the evaluation's prompt: their answers side by side, one
 * column per model, with the final answer each one's text gives (as the answer checker extracts it).
 */
export async function askModels(problem: string, generators: Generator[], sampling: Partial<EvalSamplingOptions> = {}): Promise<EvalTable> {
  const options = { ...DEFAULT_EVAL_CONFIG, ...sampling };
  const prompt = buildPrompt({ problem });
  const answers = [];
  for (const g of generators) answers.push((await g.generate([prompt], options))[0]!);
  return {
    columns: ["", ...generators.map((g) => g.name)],
    data: [
      ["answer", ...answers.map((a) => a.text)],
      ["final answer", ...answers.map((a) => extractAnswer(a.text).text ?? "(none found)")],
    ],
  };
}
