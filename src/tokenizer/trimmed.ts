/**
 * A trimmed vocabulary written as Hugging Face tokenizer files whose ids ARE the model ids, so that transformers
 * (4.x and 5.x), TRL, vLLM and transformers.js load the model folder as it is. Design and trade-offs:
 * docs/tiny-math-model.md ("Tokenizer files").
 *
 * A byte-level BPE cannot simply drop the tokens a corpus does not use: BPE reaches a token through merges whose
 * intermediate results must be tokens too, and the corpus's own tokens are mostly reached through tokens it never
 * uses (" mon" in " monologue" through " mo"). So the files keep Qwen2.5's normalizer, pre-tokenizer and
 * byte-level alphabet, and put each kept multi-byte token that is whole UTF-8 text (" answer", "<th", " ×") in the
 * tokenizer as a non-special *added token*: the tokenizer splits the text on those first (leftmost-longest match,
 * before pre-tokenization), then the BPE writes what is left as bytes, merging only the few kept tokens that are part
 * of a character (" " + the first byte of "÷"). Over the corpus this gives exactly the ids Qwen2.5's tokenizer +
 * the vocab map gave (checked when the files are made); on any other text it is "longest known word, else bytes",
 * always inside the model's vocabulary, and it decodes back to the text.
 */

import { join } from "node:path";
import { readJsonFile } from "../files/read.js";
import { writeJsonAtomic } from "../files/atomic.js";
import { Tokenizer } from "./tokenizer.js";
import { VocabMap } from "./vocab-map.js";

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

interface TokenizerJson {
  added_tokens: AddedTokenJson[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] } & Record<string, unknown>;
  [key: string]: unknown;
}

export interface TrimmedTokenizerFiles {
  "tokenizer.json": TokenizerJson;
  "tokenizer_config.json": Record<string, unknown>;
}

function readJson<T>(file: string): T {
  return readJsonFile<T>(file, "a tokenizer file");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The text a byte-level token stands for, or undefined when its bytes are not whole UTF-8 characters. */
function tokenText(token: string, byteOf: ReadonlyMap<string, number>): string | undefined {
  try {
    return utf8.decode(Uint8Array.from([...token].map((c) => byteOf.get(c)!)));
  } catch {
    return undefined;
  }
}

const mergeParts = (m: string | [string, string]): [string, string] => (typeof m === "string" ? (m.split(" ") as [string, string]) : m);

/**
 * tokenizer.json and tokenizer_config.json for `mapped` (a byte-level BPE tokenizer with a vocab map), in the
 * model's ids: model id i is the token of full id map.ids[i].
 */
export function trimmedTokenizerFiles(mapped: Tokenizer): TrimmedTokenizerFiles {
  const map = mapped.vocabMap;
  if (!map) throw new Error(`${mapped.dir}: trimmedTokenizerFiles needs a tokenizer with a vocab map`);
  const base = mapped.baseVocab;
  const json = readJson<TokenizerJson>(join(mapped.dir, "tokenizer.json"));
  const config = readJson<Record<string, unknown>>(join(mapped.dir, "tokenizer_config.json"));
  if (json.model.type !== "BPE") throw new Error(`${mapped.dir}/tokenizer.json: a ${json.model.type} model, not a byte-level BPE`);
  const byteOf = new Map(base.byteChars.map((c, b) => [c, b]));
  const specials = new Map(json.added_tokens.map((t) => [t.id, t]));

  const vocab: Record<string, number> = {};
  const added: AddedTokenJson[] = [];
  const partial = new Set<string>(base.byteChars);
  const fullIds = map.toFull([...Array(map.size).keys()]);
  fullIds.forEach((fullId, modelId) => {
    const special = specials.get(fullId);
    if (special) return void added.push({ ...special, id: modelId });
    const token = base.idToToken(fullId)!;
    const text = token.length > 1 ? tokenText(token, byteOf) : undefined;
    if (text === undefined || byteOf.has(text)) {
      vocab[token] = modelId; // a byte, or part of a character: reached by merges
      partial.add(token);
    } else {
      vocab[text] = modelId; // whole text: matched as an added token, never produced by the BPE
      added.push({ id: modelId, content: text, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
    }
  });
  // The base tokenizer's merges among the tokens that are parts of characters, in its order.
  const merges = json.model.merges.filter((m) => {
    const [a, b] = mergeParts(m);
    return partial.has(a) && partial.has(b) && partial.has(a + b);
  });
  const reachable = new Set(base.byteChars);
  for (const m of merges) reachable.add(mergeParts(m).join(""));
  const unreachable = [...partial].filter((t) => !reachable.has(t));
  if (unreachable.length > 0) {
    throw new Error(`vocab map: the tokens ${unreachable.map((t) => JSON.stringify(t)).join(", ")} are parts of characters that no merge of the base tokenizer's kept tokens reaches`);
  }
  added.sort((a, b) => a.id - b.id);
  const addedTokensDecoder = Object.fromEntries(
    added.map(({ id, ...t }) => [String(id), { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.single_word, special: t.special }]),
  );
  return {
    "tokenizer.json": { ...json, added_tokens: added, model: { ...json.model, vocab, merges } },
    // transformers 5 rebuilds a Qwen2 tokenizer from vocab + merges and takes the added tokens from here.
    "tokenizer_config.json": { ...config, added_tokens_decoder: addedTokensDecoder },
  };
}

/** The model ids each text gets from `tokenizer` where they differ from `expected`'s: the first few. */
export function tokenizerDifferences(tokenizer: Tokenizer, expected: Tokenizer, texts: Iterable<string>, limit = 3): string[] {
  const out: string[] = [];
  for (const text of texts) {
    const a = tokenizer.encode(text, { addSpecialTokens: false });
    const b = expected.encode(text, { addSpecialTokens: false });
    if (a.length === b.length && a.every((id, i) => id === b[i])) continue;
    out.push(`${JSON.stringify(text.slice(0, 80))}: [${a.slice(0, 12).join(", ")}…] instead of [${b.slice(0, 12).join(", ")}…]`);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Writes the trimmed tokenizer files of `mapped` into `dir` (each through a temporary file) and checks that the
 * folder's tokenizer gives every text of `texts` the ids `mapped` gives it; returns the tokenizer loaded from `dir`.
 */
export function writeTrimmedTokenizer(mapped: Tokenizer, dir: string, texts: Iterable<string>): Tokenizer {
  for (const [name, value] of Object.entries(trimmedTokenizerFiles(mapped))) writeJsonAtomic(join(dir, name), value);
  const written = Tokenizer.load(dir);
  const differences = tokenizerDifferences(written, mapped, texts);
  if (differences.length > 0) throw new Error(`${dir}: the trimmed tokenizer files do not reproduce the corpus's ids:\n  ${differences.join("\n  ")}`);
  return written;
}

/**
 * The vocab map a trimmed tokenizer folder stands for: for each model id, the id the base tokenizer gives the same
 * token (so that Qwen2.5 ids can be shown next to the model's, or a corpus re-encoded through the base tokenizer).
 */
export function trimmedVocabMap(trimmed: Tokenizer, base: Tokenizer): VocabMap {
  const byteChars = base.baseVocab.byteChars;
  const ids: number[] = [];
  for (let modelId = 0; modelId < trimmed.vocabSize; modelId++) {
    // A byte, part of a character or a special token has the same string in both; a word is its text.
    const token = trimmed.idToToken(modelId);
    const fullId = token === undefined ? undefined : (base.tokenToId(token) ?? base.tokenToId([...Buffer.from(token, "utf8")].map((b) => byteChars[b]).join("")));
    if (fullId === undefined) throw new Error(`${trimmed.dir}: model id ${modelId} (${JSON.stringify(token)}) is not a token of ${base.dir}`);
    ids.push(fullId);
  }
  return new VocabMap(ids, base.baseVocab);
}
