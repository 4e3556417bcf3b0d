import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { MathExample } from "../../src/data/types.js";
import { loadTokenizer } from "../../src/tokenizer/index.js";
import {
  collate,
  epochBatches,
  MIN_COMPLETION_TOKENS,
  tokenizeChat,
  tokenizeExamples,
} from "../../src/train/index.js";
import { MATH_INSTRUCTION, OPEN_R1_SYSTEM_PROMPT, promptMessages } from "../../src/data/prompt.js";

const tok = loadTokenizer();
const vectors = readFileSync(fileURLToPath(new URL("../fixtures/tokenizer/qwen2_5_tokenizer_vectors.jsonl", import.meta.url)), "utf8")
  .split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const chat = vectors.filter((v) => v.kind === "chat_template");
const example = (over: Partial<MathExample> = {}): MathExample => ({
  id: "x", problem: "What is 2+2?", solution: "2+2=4, so the answer is \\boxed{4}.", answer: "4",
  problemType: "Algebra", questionType: "math-word-problem", source: "test", ...over,
});

test("label masking is exact against HF tokenizers' render of the Qwen2.5 chat template", () => {
  // fixture: the same conversation rendered with (prompt) and without (full) the generation prompt
  const full = chat.find((v) => v.messages.length === 2 && v.messages[1].role === "assistant")!;
  const prompt = chat.find((v) => v.messages.length === 1 && v.add_generation_prompt && v.messages[0].content === full.messages[0].content)!;
  const { inputIds, promptLength } = tokenizeChat(tok, [full.messages[0]], full.messages[1].content);
  assert.deepEqual(inputIds, full.ids);
  assert.equal(promptLength, prompt.ids.length);
  assert.deepEqual(inputIds.slice(0, promptLength), prompt.ids);
  // the last prompt tokens are the assistant header: <|im_start|> assistant \n
  assert.deepEqual(inputIds.slice(promptLength - 3, promptLength), [151644, 77091, 198]);
});

test("an example's messages: system prompt, problem + instruction; labels -100 through the assistant header", () => {
  assert.deepEqual(promptMessages("P"), [
    { role: "system", content: OPEN_R1_SYSTEM_PROMPT },
    { role: "user", content: `P\n${MATH_INSTRUCTION}` },
  ]);
  assert.deepEqual(promptMessages("P", { systemPrompt: null }), [{ role: "user", content: `P\n${MATH_INSTRUCTION}` }]);
  const { examples, report } = tokenizeExamples([example()], tok, { maxSeqLength: 1024, systemPrompt: "S" });
  const e = examples[0]!;
  const expectedText =
    `<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nWhat is 2+2?\n${MATH_INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n` +
    "2+2=4, so the answer is \\boxed{4}.<|im_end|>\n";
  assert.equal(tok.decode(e.inputIds), expectedText);
  assert.equal(tok.decode(e.inputIds.slice(0, e.promptLength)), expectedText.slice(0, expectedText.indexOf("<|im_start|>assistant\n") + 22));
  assert.ok(e.labels.slice(0, e.promptLength).every((l) => l === -100));
  assert.deepEqual(e.labels.slice(e.promptLength), e.inputIds.slice(e.promptLength));
  assert.equal(tok.decode(e.labels.slice(e.promptLength)), "2+2=4, so the answer is \\boxed{4}.<|im_end|>\n");
  assert.deepEqual(report, { total: 1, kept: 1, truncated: 0, droppedTooLong: 0, droppedNoTarget: 0, targetTokenFraction: 1 });
});

test("target: the verified reasoning trace, and examples without one are dropped (reported)", () => {
  const withTrace = example({ id: "a", reasoning: "<think>\nadd\n</think>\n\\boxed{4}" });
  const { examples, report } = tokenizeExamples([withTrace, example({ id: "b" })], tok, { maxSeqLength: 1024, target: "reasoning" });
  assert.deepEqual(examples.map((e) => e.id), ["a"]);
  assert.equal(tok.decode(examples[0]!.inputIds.slice(examples[0]!.promptLength)), "<think>\nadd\n</think>\n\\boxed{4}<|im_end|>\n");
  assert.equal(report.droppedNoTarget, 1);
});

test("over-length: truncate keeps the prompt, the completion's start and its end (the answer); drop drops", () => {
  const long = example({ solution: Array.from({ length: 200 }, (_, i) => `step ${i}.`).join(" ") + " \\boxed{4}" });
  const whole = tokenizeExamples([long], tok, { maxSeqLength: 100000, systemPrompt: null }).examples[0]!;
  const max = whole.promptLength + 40;
  const { examples, report } = tokenizeExamples([long], tok, { maxSeqLength: max, systemPrompt: null });
  const t = examples[0]!;
  assert.equal(t.inputIds.length, max);
  assert.ok(t.truncated);
  assert.deepEqual(t.inputIds.slice(0, whole.promptLength + 20), whole.inputIds.slice(0, whole.promptLength + 20));
  assert.deepEqual(t.inputIds.slice(-20), whole.inputIds.slice(-20));
  assert.ok(tok.decode(t.inputIds.slice(-20)).endsWith("\\boxed{4}<|im_end|>\n"));
  assert.equal(report.truncated, 1);
  const completion = whole.inputIds.length - whole.promptLength;
  assert.ok(Math.abs(report.targetTokenFraction - 40 / completion) < 1e-12);

  const dropped = tokenizeExamples([long, example()], tok, { maxSeqLength: max, overLength: "drop", systemPrompt: null });
  assert.deepEqual(dropped.examples.map((e) => e.inputIds.length), [tokenizeExamples([example()], tok, { maxSeqLength: max, systemPrompt: null }).examples[0]!.inputIds.length]);
  assert.equal(dropped.report.droppedTooLong, 1);
  // a prompt that leaves too little room for the completion is dropped even when truncating
  const tight = tokenizeExamples([long], tok, { maxSeqLength: whole.promptLength + MIN_COMPLETION_TOKENS - 1, systemPrompt: null });
  assert.equal(tight.report.droppedTooLong, 1);
});

test("length-grouped batches: a seeded permutation of all examples, less padding than random order", () => {
  const lengths = Array.from({ length: 300 }, (_, i) => 10 + ((i * 7919) % 500));
  const batches = epochBatches(lengths, 4, 1, 0);
  assert.deepEqual(batches.flat().sort((a, b) => a - b), lengths.map((_, i) => i));
  assert.deepEqual(epochBatches(lengths, 4, 1, 0), batches);
  assert.notDeepEqual(epochBatches(lengths, 4, 1, 1), batches);
  assert.notDeepEqual(epochBatches(lengths, 4, 2, 0), batches);
  const padding = (bs: number[][]) => bs.reduce((s, b) => s + b.length * Math.max(...b.map((i) => lengths[i]!)) - b.reduce((t, i) => t + lengths[i]!, 0), 0);
  const sequential = Array.from({ length: 75 }, (_, k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);
  assert.ok(padding(batches) < padding(sequential) / 5, `${padding(batches)} vs ${padding(sequential)}`);
});

test("collate pads on the right: pad id, attention 0, label -100", () => {
  const b = collate([{ id: "a", inputIds: [5, 6, 7], labels: [-100, 6, 7], promptLength: 1, truncated: false }, { id: "b", inputIds: [8], labels: [8], promptLength: 0, truncated: false }], 0, 4);
  assert.deepEqual(b, {
    inputIds: [[5, 6, 7, 0], [8, 0, 0, 0]],
    attentionMask: [[1, 1, 1, 0], [1, 0, 0, 0]],
    labels: [[-100, 6, 7, -100], [8, -100, -100, -100]],
  });
});
