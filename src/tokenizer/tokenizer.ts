import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as transformers from "@huggingface/transformers";
import { assetPath } from "../assets.js";

export interface ChatTurn {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The tokenizer shipped with the library (Qwen2.5's BPE and chat template): the offline default. */
export function defaultTokenizerDir(): string {
  return assetPath("tokenizer", "qwen2.5");
}

/** Tokenizer files of an HF folder that belong with a saved model (those present are copied). */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
] as const;

type HfTokenizer = transformers.PreTrainedTokenizer;
type HfTokenizerClass = new (tokenizerJson: unknown, tokenizerConfig: unknown) => HfTokenizer;

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new Error(`${file}: not found (a tokenizer folder needs tokenizer.json and tokenizer_config.json)`);
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * A Hugging Face tokenizer (through @huggingface/transformers) read from a local folder in HF layout:
 * a model directory or the shipped default. Reading the files ourselves keeps it offline by construction.
 */
export class Tokenizer {
  private constructor(
    readonly dir: string,
    private readonly hf: HfTokenizer,
  ) {}

  static load(dir: string = defaultTokenizerDir()): Tokenizer {
    const json = readJson(join(dir, "tokenizer.json"));
    const config = readJson(join(dir, "tokenizer_config.json")) as { tokenizer_class?: string };
    // transformers.js exports a class per tokenizer_class (Qwen2Tokenizer, …); the base class handles the rest.
    const exported = (transformers as unknown as Record<string, unknown>)[config.tokenizer_class ?? ""];
    const Cls = (typeof exported === "function" ? exported : transformers.PreTrainedTokenizer) as HfTokenizerClass;
    try {
      return new Tokenizer(dir, new Cls(json, config));
    } catch (e) {
      throw new Error(`${dir}: could not build the tokenizer (${(e as Error).message})`);
    }
  }

  get padTokenId(): number {
    return this.hf.pad_token_id;
  }
  get eosTokenId(): number {
    return this.hf.eos_token_id;
  }
  get eosToken(): string {
    return this.hf.eos_token;
  }
  get vocabSize(): number {
    return this.hf.get_vocab().size;
  }
  get hasChatTemplate(): boolean {
    return this.hf.chat_template != null;
  }

  /** Token ids of `text`. Special tokens written in the text (e.g. `<|im_end|>`) are recognised. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return "";
    return this.hf.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.get_vocab().get(token);
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

  /** Copies the tokenizer files present in this tokenizer's folder into `destDir` (for a saved model). */
  saveTo(destDir: string): string[] {
    mkdirSync(destDir, { recursive: true });
    const copied: string[] = [];
    for (const f of TOKENIZER_FILES) {
      if (!existsSync(join(this.dir, f))) continue;
      copyFileSync(join(this.dir, f), join(destDir, f));
      copied.push(f);
    }
    return copied;
  }
}

/** Loads a tokenizer from a local HF-layout folder (default: the shipped Qwen2.5 tokenizer). */
export function loadTokenizer(dir?: string): Tokenizer {
  return Tokenizer.load(dir);
}
