import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { dataSourceFrom, prepareDataset } from "../../src/data/index.js";
import { TINY_MATH_MODEL_DIR } from "../../src/model/load.js";
import { resolveConfig } from "../../src/pipeline/config.js";
import { loadTokenizer, trimmedVocabMap, VOCAB_MAP_FILE, type ChatTurn } from "../../src/tokenizer/index.js";
import { promptMessages } from "../../src/data/prompt.js";
import { tokenizeExamples } from "../../src/train/format.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const LAYOUTS = join(ROOT, "tests/fixtures/hf-layouts");
const readJson = (...p: string[]) => JSON.parse(readFileSync(join(...p), "utf8"));
const config = readJson(TINY_MATH_MODEL_DIR, "config.json");
const project = loadTokenizer(TINY_MATH_MODEL_DIR);
const qwen = loadTokenizer();
/** Qwen2.5's ids → the model's: how the corpus was encoded when the model was pretrained. */
const pretrainingMap = trimmedVocabMap(project, qwen);

// Ids, tokens and decoded text (special tokens skipped) of the real `tokenizers` 0.23.2 for the shipped tokenizer.json
// (tests/fixtures/tokenizer/README.md).
const vectors = readFileSync(join(ROOT, "tests/fixtures/tokenizer/tiny_math_tokenizer_vectors.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { text: string; ids: number[]; tokens: string[]; decoded: string });

/** The default profile's split, as `openr1 run` makes it. */
async function defaultSplit() {
  const c = resolveConfig({});
  const prepared = await prepareDataset(dataSourceFrom(c.data.source), {
    limit: c.data.limit ?? undefined,
    filters: { ...c.data.filters, maxProblemChars: c.data.filters.maxProblemChars ?? undefined, maxSolutionChars: c.data.filters.maxSolutionChars ?? undefined },
    split: { validation: c.data.validation, seed: c.seed, stratify: c.data.stratify },
  });
  return { config: c, split: prepared.split };
}

test("the shipped folder is a plain HF model: one vocabulary of 413 ids, special ids agreeing across its files", () => {
  assert.equal(project.vocabMap, undefined, "no vocab map: the tokenizer files are in the model's ids");
  assert.equal(project.vocabSize, config.vocab_size);
  assert.equal(project.idLimit, config.vocab_size);
  const generation = readJson(TINY_MATH_MODEL_DIR, "generation_config.json");
  const tokenizerConfig = readJson(TINY_MATH_MODEL_DIR, "tokenizer_config.json");
  const id = (t: string) => project.tokenToId(t);
  assert.equal(config.eos_token_id, id("<|im_end|>"));
  assert.equal(config.bos_token_id, id("<|endoftext|>"));
  assert.deepEqual(generation.eos_token_id, [id("<|im_end|>"), id("<|endoftext|>")]);
  assert.equal(generation.pad_token_id, id(tokenizerConfig.pad_token));
  assert.equal(project.eosTokenId, id(tokenizerConfig.eos_token));
  assert.equal(project.eosTokenId, config.eos_token_id);
  assert.equal(project.padTokenId, generation.pad_token_id);
  // transformers 5 rebuilds a qwen2 tokenizer from vocab + merges and reads the added tokens from tokenizer_config.json.
  const json = readJson(TINY_MATH_MODEL_DIR, "tokenizer.json");
  assert.equal(json.model.type, "BPE");
  assert.deepEqual(Object.keys(tokenizerConfig.added_tokens_decoder).map(Number), json.added_tokens.map((t: { id: number }) => t.id));
  const ids = [...Object.values(json.model.vocab as Record<string, number>)].sort((a, b) => a - b);
  assert.equal(new Set(ids).size, ids.length, "the BPE's ids are distinct");
  const all = new Set([...ids, ...json.added_tokens.map((t: { id: number }) => t.id)]);
  assert.deepEqual([...all].sort((a, b) => a - b), [...Array(config.vocab_size).keys()], "BPE and added tokens cover 0..412, nothing beyond");
});

test("@huggingface/transformers' AutoTokenizer on the shipped folder: every default training example gets the project's ids, the ids the model was trained with", async () => {
  env.allowRemoteModels = false;
  env.localModelPath = dirname(TINY_MATH_MODEL_DIR);
  const auto = await AutoTokenizer.from_pretrained(basename(TINY_MATH_MODEL_DIR));
  const { config: c, split } = await defaultSplit();
  assert.equal(split.train.length, 1880);
  for (const [name, examples] of [["train", split.train], ["validation", split.validation]] as const) {
    const ours = tokenizeExamples(examples, project, c.train).examples;
    assert.equal(ours.length, examples.length, `${name}: training keeps every example`);
    for (const [i, e] of ours.entries()) {
      const chat: ChatTurn[] = [...promptMessages(examples[i]!.problem), { role: "assistant", content: examples[i]!.solution }];
      const theirs = auto.apply_chat_template(chat, { tokenize: true, return_tensor: false, return_dict: false }) as number[];
      assert.deepEqual(theirs, e.inputIds, `${name} #${i}: AutoTokenizer's ids`);
      const prompt = auto.apply_chat_template(promptMessages(examples[i]!.problem), { tokenize: true, return_tensor: false, return_dict: false, add_generation_prompt: true }) as number[];
      assert.deepEqual(prompt, e.inputIds.slice(0, e.promptLength), `${name} #${i}: the prompt, as masked`);
      assert.ok(theirs.every((id) => Number.isInteger(id) && id >= 0 && id < config.vocab_size), `${name} #${i}: inside the embedding`);
      // Qwen2.5's tokenizer + the pretraining vocab map: the ids the model learnt from.
      const text = qwen.applyChatTemplate(chat);
      assert.deepEqual(pretrainingMap.toModel(qwen.encode(text, { addSpecialTokens: false })), e.inputIds, `${name} #${i}: as in pretraining`);
    }
  }
});

test("text outside the vocabulary: the real tokenizers library's ids, always inside the embedding, decoding back", () => {
  assert.ok(vectors.length >= 50);
  for (const v of vectors) {
    const ids = project.encode(v.text, { addSpecialTokens: false });
    assert.deepEqual(ids, v.ids, JSON.stringify(v.text));
    assert.ok(ids.every((id) => id < config.vocab_size));
    assert.deepEqual(ids.map((id) => project.idToToken(id)), v.tokens);
    assert.equal(project.decode(ids, { skipSpecialTokens: true }), v.decoded, "decoded as tokenizers does (special tokens skipped)");
    if (v.text === v.text.normalize("NFC")) assert.equal(project.decode(ids), v.text, "NFC text round-trips");
  }
  // The rule: the longest word of the vocabulary that starts here (even inside a longer word), else bytes.
  const tokens = (t: string) => project.encode(t, { addSpecialTokens: false }).map((id) => project.idToToken(id));
  assert.deepEqual(tokens(" there"), [" the", "r", "e"]);
  assert.deepEqual(tokens(" monologue"), [" mon", "ologue"]);
  assert.deepEqual(tokens("<thinking>"), ["<th", "ink", "i", "n", "g", ">"]);
  assert.deepEqual(tokens(" ÷"), ["ĠÃ", "·"], "a kept token that is part of a character, by merges");
  assert.deepEqual(tokens("天"), ["å", "¤", "©"], "unknown characters: their UTF-8 bytes");
});

test("the tokenizer files as transformers 4.57 and 5.18 re-save them load to the same tokenizer", () => {
  const chat: ChatTurn[] = [...promptMessages("Compute 23 + 45."), { role: "assistant", content: "First, 23 + 45 = 68.\nFinally, the answer is \\boxed{68}." }];
  for (const version of ["transformers-4.57.6", "transformers-5.18.0"]) {
    const dir = join(LAYOUTS, version, "tiny-math");
    const t = loadTokenizer(dir);
    assert.equal(t.vocabSize, project.vocabSize, version);
    assert.equal(t.eosTokenId, project.eosTokenId, version);
    assert.equal(t.padTokenId, project.padTokenId, version);
    assert.equal(readJson(dir, "tokenizer_config.json").chat_template, undefined, `${version} keeps the template in chat_template.jinja`);
    assert.equal(t.applyChatTemplate(chat), project.applyChatTemplate(chat), `${version}: the chat template`);
    assert.deepEqual(t.encodeChat(chat), project.encodeChat(chat), version);
    for (const v of vectors) assert.deepEqual(t.encode(v.text, { addSpecialTokens: false }), v.ids, `${version}: ${JSON.stringify(v.text)}`);
  }
});

test("a trimmed model whose vocab_map.json was deleted is refused when it loads, and `openr1 serve` does not start", () => {
  const dir = mkdtempSync(join(tmpdir(), "no-map-"));
  try {
    // A model folder as the project saved trimmed models before: Qwen2.5's tokenizer files + vocab_map.json.
    for (const f of ["config.json", "generation_config.json", "model.safetensors"]) copyFileSync(join(TINY_MATH_MODEL_DIR, f), join(dir, f));
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(qwen.dir, f), join(dir, f));
    pretrainingMap.write(join(dir, VOCAB_MAP_FILE));
    assert.deepEqual(loadTokenizer(dir).encode("First, 2 + 3 = 5."), project.encode("First, 2 + 3 = 5."), "with its map it loads in model ids");
    rmSync(join(dir, VOCAB_MAP_FILE));
    const message = new RegExp(`${dir}: the tokenizer's ids go up to 151664, but the model has 413 embedding rows \\(config\\.json vocab_size\\): a model with a trimmed vocabulary needs the vocab_map\\.json .* missing`);
    assert.throws(() => loadTokenizer(dir), message);
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", "serve", dir, "--port", "0"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    assert.notEqual(r.status, 0, "serve exits");
    assert.equal(r.signal, null, "on its own, not killed by the time-out");
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stdout, /Serving/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
