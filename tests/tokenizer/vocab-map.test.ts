import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultTokenizerDir, loadTokenizer, Tokenizer, TOKENIZER_FILES, type ChatTurn } from "../../src/tokenizer/index.js";
import { buildVocabMap, VOCAB_MAP_FILE, VocabMap, type VocabMapFile } from "../../src/tokenizer/vocab-map.js";

// Texts with their Qwen2.5 ids from HF `tokenizers` (see tokenizer.test.ts).
const vectors = readFileSync(fileURLToPath(new URL("../fixtures/tokenizer/qwen2_5_tokenizer_vectors.jsonl", import.meta.url)), "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const encodeVectors = vectors.filter((v) => v.kind === "encode") as { text: string; ids: number[]; decoded: string }[];
const chatVectors = vectors.filter((v) => v.kind === "chat_template") as {
  messages: ChatTurn[];
  add_generation_prompt: boolean;
  text: string;
  ids: number[];
}[];

const full = loadTokenizer();
const chat0 = chatVectors[0];
const corpus = ["Hello world", "The answer is $\\boxed{4}$.", full.applyChatTemplate(chat0.messages, { addGenerationPrompt: chat0.add_generation_prompt })];
const map = buildVocabMap(full, corpus);
const mapped = Tokenizer.withVocabMap(full, map);

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "vocab-map-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the real tokenizer.json is byte-level: each of the 256 alphabet characters is a token that decodes to its byte", () => {
  const json = JSON.parse(readFileSync(join(defaultTokenizerDir(), "tokenizer.json"), "utf8")) as {
    model: { vocab: Record<string, number> };
    added_tokens: { id: number }[];
  };
  const base = full.baseVocab;
  assert.equal(base.byteChars.length, 256);
  assert.equal(new Set(base.byteChars).size, 256);
  assert.ok(base.byteChars.every((c) => c in json.model.vocab));
  assert.equal(base.byteChars[0x20], "Ġ");
  assert.equal(base.byteChars[0x0a], "Ċ");
  for (let b = 0; b < 0x80; b++) assert.equal(full.decode([json.model.vocab[base.byteChars[b]]]), String.fromCharCode(b), `byte ${b}`);
  const text = "é 🦙 天";
  assert.equal(full.decode([...Buffer.from(text)].map((b) => json.model.vocab[base.byteChars[b]])), text);
  assert.deepEqual(base.addedIds, json.added_tokens.map((t) => t.id));
  assert.equal(base.size, [...Object.values(json.model.vocab), ...base.addedIds].reduce((a, b) => Math.max(a, b)) + 1);
});

test("a corpus map holds its tokens, all bytes and all added tokens, and is small", () => {
  const base = full.baseVocab;
  const required = [...corpus.flatMap((t) => full.encode(t, { addSpecialTokens: false })), ...base.byteChars.map((c) => base.tokenToId(c)!), ...base.addedIds];
  assert.deepEqual(map.toJSON().ids, [...new Set(required)].sort((a, b) => a - b));
  assert.ok(map.size < 400, `${map.size}`);
  assert.equal(mapped.vocabSize, map.size);
  assert.equal(mapped.vocabMap, map);
  assert.equal(full.vocabMap, undefined);
});

test("in-map text: the model ids map back to exactly the full encoding", () => {
  for (const t of corpus) assert.deepEqual(map.toFull(mapped.encode(t)), full.encode(t));
  assert.deepEqual(map.toFull(mapped.encode("Hello world")), [9707, 1879]);
  assert.deepEqual(map.toModel(map.toFull(mapped.encode("Hello world"))), mapped.encode("Hello world"));
});

for (const [i, v] of encodeVectors.entries()) {
  test(`fixture text #${i} ${JSON.stringify(v.text).slice(0, 40)} round-trips through the model ids`, () => {
    const ids = mapped.encode(v.text);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < map.size));
    assert.equal(mapped.decode(ids), v.decoded);
    assert.equal(mapped.decode(ids), v.text);
  });
}

test("out-of-map tokens are replaced by their bytes", () => {
  const emoji = encodeVectors.find((v) => v.text.includes("🦙"))!;
  const ids = mapped.encode(emoji.text);
  assert.ok(ids.length > emoji.ids.length);
  assert.equal(full.decode(map.toFull(ids)), emoji.text);
  assert.deepEqual(map.toModel([full.tokenToId("Ġera")!]), [..."Ġera"].map((c) => map.modelId(full.tokenToId(c)!)));
});

test("the chat template renders through the mapped tokenizer, special tokens mapping to the real ids", () => {
  for (const v of chatVectors) {
    const opts = { addGenerationPrompt: v.add_generation_prompt };
    assert.equal(mapped.applyChatTemplate(v.messages, opts), v.text);
    const ids = mapped.encodeChat(v.messages, opts);
    assert.ok(ids.every((id) => id < map.size));
    assert.equal(mapped.decode(ids), v.text);
  }
  // chat0's render is in the corpus: its model ids are exactly the fixture's full ids.
  assert.deepEqual(map.toFull(mapped.encodeChat(chat0.messages, { addGenerationPrompt: chat0.add_generation_prompt })), chat0.ids);
  for (const [token, id] of [["<|im_start|>", 151644], ["<|im_end|>", 151645], ["<|endoftext|>", 151643]] as const) {
    const modelId = mapped.tokenToId(token);
    assert.ok(modelId !== undefined && modelId < map.size, token);
    assert.deepEqual(map.toFull([modelId]), [id]);
  }
  assert.deepEqual(map.toFull([mapped.padTokenId, mapped.eosTokenId]), [151643, 151645]);
  assert.equal(mapped.eosToken, "<|im_end|>");
  const imEnd = mapped.tokenToId("<|im_end|>")!;
  assert.equal(mapped.decode([...mapped.encode("Hello world"), imEnd], { skipSpecialTokens: true }), "Hello world");
});

test("tokenToId: undefined for a token of the base vocabulary that the map lacks", () => {
  assert.equal(full.tokenToId("Ġera"), 11385);
  assert.equal(mapped.tokenToId("Ġera"), undefined);
  assert.equal(mapped.tokenToId("not a token at all"), undefined);
  assert.deepEqual(map.toFull([mapped.tokenToId("Hello")!]), [9707]);
});

test("toFull and toModel name ids they cannot map", () => {
  assert.throws(() => map.toFull([0, map.size]), new RegExp(`model id ${map.size} is outside \\[0, ${map.size}\\)`));
  assert.throws(() => map.toFull([-1]), /model id -1 is outside/);
  assert.throws(() => map.toFull([1.5]), /model id 1.5 is outside/);
  assert.throws(() => map.toModel([10_000_000]), /full id 10000000 is not a token of the base vocabulary/);
});

test("the constructor rejects ids that do not make a map", () => {
  const ids = map.toJSON().ids;
  assert.throws(() => new VocabMap([...ids].reverse(), full.baseVocab), /vocab map: ids are not sorted ascending and distinct/);
  assert.throws(() => new VocabMap(ids.filter((id) => id !== 151644), full.baseVocab), /vocab map: missing the added token "<\|im_start\|>" \(full id 151644\)/);
});

test("buildVocabMap works in full ids even from a mapped tokenizer", () => {
  const bigger = buildVocabMap(mapped, [...corpus, "нещо на Български"]);
  assert.ok(bigger.size > map.size);
  assert.deepEqual(bigger.toFull(Tokenizer.withVocabMap(mapped, bigger).encode("нещо на Български")), encodeVectors.find((v) => v.text === "нещо на Български")!.ids);
  assert.deepEqual(mapped.unmapped.encode("Hello world"), [9707, 1879]);
});

test("write/read round trip, atomically", () => {
  withTempDir((dir) => {
    const file = join(dir, VOCAB_MAP_FILE);
    map.write(file);
    assert.deepEqual(readdirSync(dir), [VOCAB_MAP_FILE]);
    const json = JSON.parse(readFileSync(file, "utf8")) as VocabMapFile;
    assert.equal(json.format, "openr1-ts/vocab-map@1");
    assert.equal(json.base_vocab_size, full.baseVocab.size);
    assert.deepEqual(VocabMap.read(file, full.baseVocab).toJSON(), map.toJSON());
    map.write(file); // over an existing file
    assert.deepEqual(readdirSync(dir), [VOCAB_MAP_FILE]);
  });
});

test("each malformed map file gives an error naming the file and the problem", () => {
  const good = map.toJSON();
  const without = (id: number) => good.ids.filter((x) => x !== id);
  const cases: [string, string | object, string][] = [
    ["not JSON", "{ids: [1, 2", "not valid JSON"],
    ["wrong format tag", { ...good, format: "openr1-ts/vocab-map@0" }, 'format is "openr1-ts/vocab-map@0", expected "openr1-ts/vocab-map@1"'],
    ["no format", { ids: good.ids }, "format is undefined"],
    ["other base", { ...good, base_vocab_size: 1000 }, `base_vocab_size is 1000, but the tokenizer has ${good.base_vocab_size} ids`],
    ["ids not an array", { ...good, ids: "0,1,2" }, "ids is not an array"],
    ["non-integer id", { ...good, ids: [...good.ids.slice(0, 3), "5"] }, 'ids[3] = 5 is not a token id'],
    ["unsorted", { ...good, ids: [good.ids[1], good.ids[0], ...good.ids.slice(2)] }, `ids are not sorted ascending and distinct (ids[0] = ${good.ids[1]}, ids[1] = ${good.ids[0]})`],
    ["duplicate", { ...good, ids: [good.ids[0], ...good.ids] }, `ids are not sorted ascending and distinct (ids[0] = ${good.ids[0]}, ids[1] = ${good.ids[0]})`],
    ["id too large", { ...good, ids: [...good.ids, good.base_vocab_size] }, `ids[${good.ids.length}] = ${good.base_vocab_size} is not below base_vocab_size ${good.base_vocab_size}`],
    ["missing byte", { ...good, ids: without(220) }, 'missing the byte-level token of byte 0x20, "Ġ" (full id 220)'],
    ["missing special", { ...good, ids: without(151645) }, 'missing the added token "<|im_end|>" (full id 151645)'],
  ];
  withTempDir((dir) => {
    for (const [name, content, problem] of cases) {
      const file = join(dir, `${name.replaceAll(" ", "-")}.json`);
      writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
      assert.throws(
        () => VocabMap.read(file, full.baseVocab),
        (e: Error) => e.message.startsWith(`${file}: `) && e.message.includes(problem),
        name,
      );
    }
    const missing = join(dir, "absent.json");
    assert.throws(() => VocabMap.read(missing, full.baseVocab), (e: Error) => e.message.includes("ENOENT") && e.message.includes(missing));
  });
});

test("a folder with vocab_map.json loads mapped, and saveTo carries the map along", () => {
  assert.ok((TOKENIZER_FILES as readonly string[]).includes(VOCAB_MAP_FILE));
  withTempDir((root) => {
    const dir = join(root, "model");
    assert.deepEqual(full.saveTo(dir).sort(), ["tokenizer.json", "tokenizer_config.json"]);
    map.write(join(dir, VOCAB_MAP_FILE));
    const loaded = loadTokenizer(dir);
    assert.deepEqual(loaded.vocabMap?.toJSON(), map.toJSON());
    assert.equal(loaded.vocabSize, map.size);
    for (const v of encodeVectors) assert.deepEqual(loaded.encode(v.text), mapped.encode(v.text));
    assert.equal(loaded.eosTokenId, mapped.eosTokenId);

    const saved = join(root, "saved");
    assert.deepEqual(loaded.saveTo(saved).sort(), ["tokenizer.json", "tokenizer_config.json", VOCAB_MAP_FILE]);
    assert.equal(readFileSync(join(saved, VOCAB_MAP_FILE), "utf8"), readFileSync(join(dir, VOCAB_MAP_FILE), "utf8"));
    assert.deepEqual(Tokenizer.load(saved).encode("Hello world"), mapped.encode("Hello world"));

    // A map built in memory has no file yet; saveTo writes it. An unmapped tokenizer leaves it out.
    const fromMemory = join(root, "from-memory");
    assert.ok(mapped.saveTo(fromMemory).includes(VOCAB_MAP_FILE));
    assert.deepEqual(loadTokenizer(fromMemory).vocabMap?.toJSON(), map.toJSON());
    assert.ok(!loaded.unmapped.saveTo(join(root, "unmapped")).includes(VOCAB_MAP_FILE));

    writeFileSync(join(dir, VOCAB_MAP_FILE), "[]");
    assert.throws(() => loadTokenizer(dir), new RegExp(`${join(dir, VOCAB_MAP_FILE)}: format is undefined`));
  });
});

test("without vocab_map.json nothing changes", () => {
  assert.equal(full.vocabSize, 151665);
  assert.equal(full.padTokenId, 151643);
  assert.deepEqual(full.encode("Hello world"), [9707, 1879]);
});

test("withVocabMap refuses a map made for another base vocabulary", () => {
  const base = full.baseVocab;
  const other = new VocabMap(map.toJSON().ids, { ...base, size: base.size + 1 });
  assert.throws(() => Tokenizer.withVocabMap(full, other), /made for a tokenizer of 151666 ids, this one has 151665/);
});
