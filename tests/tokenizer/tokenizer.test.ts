import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTokenizer, Tokenizer, type ChatTurn } from "../../src/tokenizer/index.js";

// Expected ids and renders produced by HF `tokenizers` 0.23.2 + jinja2 with the same files (shared fixtures).
const vectors = readFileSync(fileURLToPath(new URL("../fixtures/tokenizer/qwen2_5_tokenizer_vectors.jsonl", import.meta.url)), "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const tok = loadTokenizer();

test("fixture has encodings and chat renders", () => {
  assert.equal(vectors.filter((v) => v.kind === "encode").length, 21);
  assert.equal(vectors.filter((v) => v.kind === "chat_template").length, 6);
});

for (const [i, v] of vectors.entries()) {
  if (v.kind === "encode") {
    test(`encode #${i} ${JSON.stringify(v.text).slice(0, 40)}`, () => {
      assert.deepEqual(tok.encode(v.text), v.ids);
      assert.equal(tok.decode(v.ids), v.decoded);
    });
  } else if (v.kind === "chat_template") {
    test(`chat template #${i} (generation prompt ${v.add_generation_prompt})`, () => {
      const opts = { addGenerationPrompt: v.add_generation_prompt as boolean };
      assert.equal(tok.applyChatTemplate(v.messages as ChatTurn[], opts), v.text);
      assert.deepEqual(tok.encodeChat(v.messages as ChatTurn[], opts), v.ids);
    });
  }
}

test("special tokens of Qwen2.5", () => {
  assert.equal(tok.padTokenId, 151643); // <|endoftext|>
  assert.equal(tok.eosTokenId, 151645); // <|im_end|>
  assert.equal(tok.tokenToId("<|im_start|>"), 151644);
  assert.equal(tok.decode([151644, 77091, 198, 151645], { skipSpecialTokens: true }), "assistant\n");
});

test("saveTo copies the tokenizer files, which load again", () => {
  const dir = mkdtempSync(join(tmpdir(), "tok-"));
  try {
    assert.deepEqual(tok.saveTo(dir).sort(), ["tokenizer.json", "tokenizer_config.json"]);
    assert.deepEqual(readdirSync(dir).sort(), ["tokenizer.json", "tokenizer_config.json"]);
    assert.deepEqual(Tokenizer.load(dir).encode("Hello world"), [9707, 1879]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a folder without tokenizer files is named in the error", () => {
  const dir = mkdtempSync(join(tmpdir(), "tok-"));
  try {
    assert.throws(() => Tokenizer.load(dir), new RegExp(`${dir}/tokenizer.json: not found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
