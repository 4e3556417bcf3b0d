import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as transformers from "@huggingface/transformers";
import { readJsonFile } from "../files/read.js";
import { assetPath } from "../assets.js";
import { byteLevelBaseVocab, VOCAB_MAP_FILE, VocabMap, type BaseVocab } from "./vocab-map.js";

export interface ChatTurn {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The tokenizer shipped with the library (Qwen2.5's BPE and chat template): the offline default. */
export function defaultTokenizerDir(): string {
  return assetPath("tokenizer", "qwen2.5");
}

/** Where transformers ≥ 4.5x saves the chat template (it takes precedence over tokenizer_config.json's). */
export const CHAT_TEMPLATE_FILE = "chat_template.jinja";

/** Tokenizer files of an HF folder that belong with a saved model (those present are copied). */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  CHAT_TEMPLATE_FILE,
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
  VOCAB_MAP_FILE,
] as const;

type HfTokenizer = transformers.PreTrainedTokenizer;
type HfTokenizerClass = new (tokenizerJson: unknown, tokenizerConfig: unknown) => HfTokenizer;

function readJson(file: string): unknown {
  return readJsonFile(file, "a tokenizer folder needs tokenizer.json and tokenizer_config.json");
}

/**
 * A Hugging Face tokenizer (through @huggingface/transformers) read from a local folder in HF layout:
 * a model directory or the shipped default. Reading the files ourselves keeps it offline by construction.
 *
 * With a vocabulary map (the folder's vocab_map.json, or `withVocabMap`) every id it takes or gives is a
 * model id of the map: encode, decode, tokenToId, padTokenId, eosTokenId, vocabSize.
 */
export class Tokenizer {
  #baseVocab?: BaseVocab;
  /** transformers.js builds its token → id map anew on every get_vocab() (151k entries, tens of ms): kept here. */
  #vocab?: Map<string, number>;

  private constructor(
    readonly dir: string,
    private readonly hf: HfTokenizer,
    readonly vocabMap?: VocabMap,
  ) {}

  /**
   * The tokenizer of an HF folder. In a model folder (one with config.json), a tokenizer whose ids do not fit the
   * model's embedding is refused here, at load time, rather than failing on the first forward.
   */
  static load(dir: string = defaultTokenizerDir()): Tokenizer {
    const unmapped = Tokenizer.loadUnmapped(dir);
    const mapFile = join(dir, VOCAB_MAP_FILE);
    const tokenizer = existsSync(mapFile) ? Tokenizer.withVocabMap(unmapped, VocabMap.read(mapFile, unmapped.baseVocab)) : unmapped;
    tokenizer.checkFitsModel();
    return tokenizer;
  }

  private static loadUnmapped(dir: string): Tokenizer {
    const json = readJson(join(dir, "tokenizer.json"));
    const config = readJson(join(dir, "tokenizer_config.json")) as { tokenizer_class?: string; chat_template?: unknown };
    const templateFile = join(dir, CHAT_TEMPLATE_FILE);
    if (existsSync(templateFile)) config.chat_template = readFileSync(templateFile, "utf8");
    // transformers.js exports a class per tokenizer_class (Qwen2Tokenizer, …); the base class handles the rest.
    const exported = (transformers as unknown as Record<string, unknown>)[config.tokenizer_class ?? ""];
    const Cls = (typeof exported === "function" ? exported : transformers.PreTrainedTokenizer) as HfTokenizerClass;
    try {
      return new Tokenizer(dir, new Cls(json, config));
    } catch (e) {
      throw new Error(`${dir}: could not build the tokenizer (${(e as Error).message})`);
    }
  }

  /** The same base tokenizer working in the model ids of `map` (whatever map `tokenizer` had). */
  static withVocabMap(tokenizer: Tokenizer, map: VocabMap): Tokenizer {
    const size = tokenizer.baseVocab.size;
    if (map.baseVocabSize !== size) {
      throw new Error(`${tokenizer.dir}: the vocab map was made for a tokenizer of ${map.baseVocabSize} ids, this one has ${size}`);
    }
    const mapped = new Tokenizer(tokenizer.dir, tokenizer.hf, map);
    mapped.#baseVocab = tokenizer.#baseVocab;
    return mapped;
  }

  /** One past the largest id this tokenizer gives (model ids with a vocab map). */
  get idLimit(): number {
    if (this.vocabMap) return this.vocabMap.size;
    let max = -1;
    for (const id of this.fullVocab().values()) max = Math.max(max, id);
    return max + 1;
  }

  private checkFitsModel(): void {
    const configFile = join(this.dir, "config.json");
    if (!existsSync(configFile)) return;
    const rows = (readJson(configFile) as { vocab_size?: unknown }).vocab_size;
    if (typeof rows !== "number" || this.idLimit <= rows) return;
    const hint = existsSync(join(this.dir, VOCAB_MAP_FILE))
      ? ""
      : `: a model with a trimmed vocabulary needs the ${VOCAB_MAP_FILE} that maps the tokenizer's ids to its own, and it is missing from this folder (restore it)`;
    throw new Error(`${this.dir}: the tokenizer's ids go up to ${this.idLimit - 1}, but the model has ${rows} embedding rows (config.json vocab_size)${hint}`);
  }

  /** This tokenizer in full ids (itself when it has no vocab map). */
  get unmapped(): Tokenizer {
    return this.vocabMap ? new Tokenizer(this.dir, this.hf) : this;
  }

  /** The base tokenizer's vocabulary, as VocabMap needs it. */
  get baseVocab(): BaseVocab {
    this.#baseVocab ??= byteLevelBaseVocab(
      this.hf.get_vocab(),
      this.hf._tokenizer.get_added_tokens_decoder().keys(),
      join(this.dir, "tokenizer.json"),
    );
    return this.#baseVocab;
  }

  private toModelId(fullId: number, what: string): number {
    if (!this.vocabMap) return fullId;
    const id = this.vocabMap.modelId(fullId);
    if (id === undefined) throw new Error(`${this.dir}: the ${what} token (full id ${fullId}) is not in the vocab map`);
    return id;
  }

  get padTokenId(): number {
    return this.toModelId(this.hf.pad_token_id, "pad");
  }
  get eosTokenId(): number {
    return this.toModelId(this.hf.eos_token_id, "eos");
  }
  get eosToken(): string {
    return this.hf.eos_token;
  }
  get vocabSize(): number {
    return this.vocabMap ? this.vocabMap.size : this.fullVocab().size;
  }
  /** The ids a chat answer ends on: <|im_end|> and <|endoftext|> (those this vocabulary has). */
  get chatStopIds(): number[] {
    return ["<|im_end|>", "<|endoftext|>"].map((t) => this.tokenToId(t)).filter((id): id is number => id !== undefined);
  }
  get hasChatTemplate(): boolean {
    return this.hf.chat_template != null;
  }

  /** Token ids of `text`. Special tokens written in the text (e.g. `<|im_end|>`) are recognised. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const ids = this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
    return this.vocabMap ? this.vocabMap.toModel(ids) : ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return "";
    const fullIds = this.vocabMap ? this.vocabMap.toFull(ids) : ids;
    return this.hf.decode(fullIds, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The token's id; with a vocab map, undefined when the map lacks the token. */
  private fullVocab(): Map<string, number> {
    this.#vocab ??= this.hf.get_vocab() as Map<string, number>;
    return this.#vocab;
  }

  /** The token string of an id (a model id with a vocab map), or undefined. */
  idToToken(id: number): string | undefined {
    const fullId = this.vocabMap ? this.vocabMap.toFull([id])[0] : id;
    return this.hf._tokenizer.id_to_token(fullId) ?? undefined;
  }

  tokenToId(token: string): number | undefined {
    const id = this.fullVocab().get(token);
    return this.vocabMap && id !== undefined ? this.vocabMap.modelId(id) : id;
  }

  /** The chat rendered as text by the tokenizer's Jinja chat template. */
  applyChatTemplate(messages: ChatTurn[], opts: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.hasChatTemplate) throw new Error(`${join(this.dir, "tokenizer_config.json")}: no chat_template`);
    return this.hf.apply_chat_template(messages, {
      tokenize: false,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
    }) as string;
  }

  /** Token ids of the rendered chat; like transformers, the rendered text is encoded without adding special tokens. */
  encodeChat(messages: ChatTurn[], opts: { addGenerationPrompt?: boolean } = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, opts), { addSpecialTokens: false });
  }

  /**
   * Copies the tokenizer files present in this tokenizer's folder into `destDir` (for a saved model).
   * The vocab map is written from memory instead: one made by `withVocabMap` has no file yet, and an
   * unmapped tokenizer must not pick up a map lying in its folder.
   */
  saveTo(destDir: string): string[] {
    mkdirSync(destDir, { recursive: true });
    const copied: string[] = [];
    for (const f of TOKENIZER_FILES) {
      if (f === VOCAB_MAP_FILE || !existsSync(join(this.dir, f))) continue;
      copyFileSync(join(this.dir, f), join(destDir, f));
      copied.push(f);
    }
    if (this.vocabMap) {
      this.vocabMap.write(join(destDir, VOCAB_MAP_FILE));
      copied.push(VOCAB_MAP_FILE);
    }
    return copied;
  }
}

/** Loads a tokenizer from a local HF-layout folder (default: the shipped Qwen2.5 tokenizer). */
export function loadTokenizer(dir?: string): Tokenizer {
  return Tokenizer.load(dir);
}
