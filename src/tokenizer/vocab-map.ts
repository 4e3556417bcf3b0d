/**
 * A vocabulary trimmed to the tokens a corpus uses, over a byte-level BPE base tokenizer (Qwen2.5's).
 * The ids a model sees ("model ids") are positions in a sorted list of the base tokenizer's ids
 * ("full ids"), so its embedding table has a few hundred rows instead of ~152k.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../files/atomic.js";

/** The file a model folder carries when its vocabulary is trimmed. */
export const VOCAB_MAP_FILE = "vocab_map.json";

const FORMAT = "openr1-ts/vocab-map@1";

export interface VocabMapFile {
  format: typeof FORMAT;
  base_vocab_size: number;
  /** Full ids, sorted ascending: model id i is full id ids[i]. */
  ids: number[];
}

/** What VocabMap needs from the base tokenizer. */
export interface BaseVocab {
  /** One past the largest full id. */
  readonly size: number;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** byteChars[b]: the character that stands for byte b in token strings; each is a token by itself. */
  readonly byteChars: readonly string[];
  /** Ids of the added tokens (<|endoftext|>, <|im_start|>, …). */
  readonly addedIds: readonly number[];
}

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others for U+0100 onwards. */
function byteLevelAlphabet(): string[] {
  const chars: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars.push(String.fromCharCode(printable ? b : 0x100 + shifted++));
  }
  return chars;
}

/**
 * The BaseVocab of a byte-level BPE tokenizer, from its vocabulary (token → full id, added tokens included)
 * and its added tokens' ids; `source` names the tokenizer in errors.
 */
export function byteLevelBaseVocab(vocab: ReadonlyMap<string, number>, addedIds: Iterable<number>, source: string): BaseVocab {
  const tokens: string[] = [];
  for (const [token, id] of vocab) tokens[id] = token;
  const byteChars = byteLevelAlphabet();
  byteChars.forEach((c, b) => {
    if (!vocab.has(c)) throw new Error(`${source}: not a byte-level BPE vocabulary (byte 0x${b.toString(16)}, ${JSON.stringify(c)}, is not a token)`);
  });
  return {
    size: tokens.length,
    idToToken: (id) => tokens[id],
    tokenToId: (token) => vocab.get(token),
    byteChars,
    addedIds: [...addedIds].sort((a, b) => a - b),
  };
}

function describe(base: BaseVocab, id: number): string {
  return `${JSON.stringify(base.idToToken(id))} (full id ${id})`;
}

/** What is wrong with `ids` as a map over `base`, or undefined. */
function problemWith(ids: readonly number[], base: BaseVocab): string | undefined {
  for (const [i, id] of ids.entries()) {
    if (!Number.isInteger(id) || id < 0) return `ids[${i}] = ${id} is not a token id`;
    if (id >= base.size) return `ids[${i}] = ${id} is not below base_vocab_size ${base.size}`;
    if (i > 0 && id <= ids[i - 1]) return `ids are not sorted ascending and distinct (ids[${i - 1}] = ${ids[i - 1]}, ids[${i}] = ${id})`;
  }
  const has = new Set(ids);
  for (const [b, c] of base.byteChars.entries()) {
    const id = base.tokenToId(c)!;
    if (!has.has(id)) return `missing the byte-level token of byte 0x${b.toString(16)}, ${describe(base, id)}`;
  }
  for (const id of base.addedIds) if (!has.has(id)) return `missing the added token ${describe(base, id)}`;
  return undefined;
}

export class VocabMap {
  private readonly ids: readonly number[];
  private readonly modelIdOf = new Map<number, number>();
  private readonly byteModelIds = new Map<string, number>();

  /** `ids` sorted ascending, distinct; must contain every byte-level token and every added (special) token of the base tokenizer. */
  constructor(
    ids: number[],
    private readonly base: BaseVocab,
  ) {
    const problem = problemWith(ids, base);
    if (problem) throw new Error(`vocab map: ${problem}`);
    this.ids = [...ids];
    this.ids.forEach((id, i) => this.modelIdOf.set(id, i));
    for (const c of base.byteChars) this.byteModelIds.set(c, this.modelIdOf.get(base.tokenToId(c)!)!);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Size of the base vocabulary the map was made for. */
  get baseVocabSize(): number {
    return this.base.size;
  }

  /** The model id of a full id, or undefined when the map lacks it. */
  modelId(fullId: number): number | undefined {
    return this.modelIdOf.get(fullId);
  }

  /**
   * Full ids → model ids. A full id outside the map is replaced by the model ids of its bytes (its byte-level
   * characters are each a token of the map); they decode to the same bytes, so every text round-trips.
   */
  toModel(fullIds: number[]): number[] {
    const out: number[] = [];
    for (const id of fullIds) {
      const mapped = this.modelIdOf.get(id);
      if (mapped !== undefined) {
        out.push(mapped);
        continue;
      }
      const token = this.base.idToToken(id);
      if (token === undefined) throw new Error(`vocab map: full id ${id} is not a token of the base vocabulary`);
      for (const c of token) {
        const byteId = this.byteModelIds.get(c);
        if (byteId === undefined) throw new Error(`vocab map: token ${describe(this.base, id)} is not made of byte-level characters`);
        out.push(byteId);
      }
    }
    return out;
  }

  /** Model ids → full ids. */
  toFull(modelIds: number[]): number[] {
    return modelIds.map((m) => {
      const id = Number.isInteger(m) ? this.ids[m] : undefined;
      if (id === undefined) throw new Error(`vocab map: model id ${m} is outside [0, ${this.size})`);
      return id;
    });
  }

  toJSON(): VocabMapFile {
    return { format: FORMAT, base_vocab_size: this.base.size, ids: [...this.ids] };
  }

  /** Reads a map written by `write`, checking it against the base vocabulary. */
  static read(file: string, base: BaseVocab): VocabMap {
    const text = readFileSync(file, "utf8");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
    }
    const f = json as Partial<VocabMapFile> | null;
    if (f?.format !== FORMAT) throw new Error(`${file}: format is ${JSON.stringify(f?.format)}, expected "${FORMAT}"`);
    if (f.base_vocab_size !== base.size) {
      throw new Error(`${file}: base_vocab_size is ${JSON.stringify(f.base_vocab_size)}, but the tokenizer has ${base.size} ids`);
    }
    if (!Array.isArray(f.ids)) throw new Error(`${file}: ids is not an array`);
    const problem = problemWith(f.ids, base);
    if (problem) throw new Error(`${file}: ${problem}`);
    return new VocabMap(f.ids, base);
  }

  /** Writes the map to `file` atomically (a temporary file renamed over it). */
  write(file: string): void {
    writeFileAtomic(file, `${JSON.stringify(this.toJSON())}\n`);
  }
}

/** The map for a corpus: every full id the texts encode to (no special tokens added), plus all byte-level and added tokens. */
export function buildVocabMap(
  tokenizer: { baseVocab: BaseVocab; unmapped: { encode(text: string, opts: { addSpecialTokens: boolean }): number[] } },
  texts: Iterable<string>,
): VocabMap {
  const base = tokenizer.baseVocab;
  const full = tokenizer.unmapped;
  const ids = new Set<number>([...base.byteChars.map((c) => base.tokenToId(c)!), ...base.addedIds]);
  for (const text of texts) for (const id of full.encode(text, { addSpecialTokens: false })) ids.add(id);
  return new VocabMap([...ids].sort((a, b) => a - b), base);
}
