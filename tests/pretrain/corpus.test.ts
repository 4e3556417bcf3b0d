import { test } from "node:test";
import assert from "node:assert/strict";
import { generateProblems, problemPool } from "../../src/data/synthetic/index.js";
import { chatDocument, corpusDocuments, directAnswer, workedDocument } from "../../src/pretrain/corpus.js";
import { packDocuments } from "../../src/pretrain/pack.js";
import { prepareCorpus } from "../../src/pretrain/run.js";
import { TINY_MATH_RECIPE } from "../../src/pretrain/recipe.js";
import { loadTokenizer } from "../../src/tokenizer/index.js";
import { promptMessages } from "../../src/data/prompt.js";
import { tokenizeChat } from "../../src/train/format.js";

const tokenizer = loadTokenizer();

test("packing: documents joined by the separator, cut into full rows, every token a target", () => {
  const rows = packDocuments([[1, 2, 3], [4], [5, 6, 7, 8]], 4, 0);
  assert.deepEqual(rows.map((r) => r.inputIds), [[1, 2, 3, 0], [4, 0, 5, 6]], "the tail [7, 8, 0] does not fill a row and is dropped");
  for (const r of rows) assert.deepEqual(r.labels, r.inputIds);
});

test("the corpus holds only pretraining-pool problems, in both document kinds, in a seeded order", () => {
  const docs = [...corpusDocuments(tokenizer, { seed: 5, documents: 600, chatFraction: 0.4 })];
  assert.deepEqual([...corpusDocuments(tokenizer, { seed: 5, documents: 600, chatFraction: 0.4 })], docs);
  const problems = docs.map((d) => (d.match(/^Problem: (.*)\nSolution:\n/) ?? d.match(/<\|im_start\|>user\n(.*)\n/))![1]);
  assert.ok(problems.every((p) => problemPool(p) === "pretrain"));
  const chat = docs.filter((d) => d.startsWith("<|im_start|>")).length;
  assert.ok(chat > 600 * 0.3 && chat < 600 * 0.5, `${chat} chat documents of 600`);
});

test("a chat document starts with exactly the prompt fine-tuning trains on and evaluation generates from", () => {
  const [p] = generateProblems({ seed: 1, pool: "pretrain", count: 1 });
  const doc = chatDocument(tokenizer, p);
  const { inputIds, promptLength } = tokenizeChat(tokenizer, promptMessages(p.problem), directAnswer(p));
  assert.deepEqual(tokenizer.encode(doc, { addSpecialTokens: false }), inputIds);
  assert.equal(tokenizer.decode(inputIds.slice(promptLength)), `${directAnswer(p)}<|im_end|>\n`);
  assert.match(workedDocument(p), /^Problem: .*\nSolution:\nFirst, [\s\S]*\\boxed\{\d+\}\.$/);
});

test("the prepared corpus is a pure function of the recipe, in a vocabulary that round-trips it", async () => {
  const small = { ...TINY_MATH_RECIPE, corpus: { documents: 300, validationDocuments: 40, chatFraction: 0.4 }, seqLength: 64 };
  const a = await prepareCorpus(small);
  const b = await prepareCorpus(small);
  assert.equal(a.sha256, b.sha256);
  assert.ok(a.train.length > 100 && a.validation.length > 10);
  assert.ok(a.tokenizer.vocabSize < 1000, `${a.tokenizer.vocabSize} tokens`);
  const text = a.tokenizer.decode(a.train[0].inputIds);
  assert.deepEqual(a.tokenizer.encode(text, { addSpecialTokens: false }).slice(0, 20), a.train[0].inputIds.slice(0, 20));
  assert.ok(a.train.every((r) => r.inputIds.every((id) => id < a.tokenizer.vocabSize)));
});
