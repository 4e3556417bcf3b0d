import * as tf from "@tensorflow/tfjs";
import { KVCache, type Qwen2Model } from "./qwen2.js";
import { argmax, sampleToken, seededRandom } from "./sampling.js";

export interface GenerateOptions {
  maxNewTokens: number;
  /** Rows stop when they produce one of these (default: the config's eos_token_id). Empty: never. */
  eosTokenIds?: number[];
  /** Written after a row has finished, and used for left padding (default: the first EOS id, else 0). */
  padTokenId?: number;
  /** Sample instead of greedy decoding. */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Seed of the sampling RNG (default 0): the same seed gives the same tokens. */
  seed?: number;
  /** Per-row budgets (at most maxNewTokens): a row that reaches its own finishes with "length". */
  rowMaxNewTokens?: number[];
  /** Rows stop when their decoded new text contains one of these; needs `decode`. */
  stopStrings?: string[];
  decode?: (ids: number[]) => string;
  /** Called for every new token of a running row, as it is produced. */
  onToken?: (event: { row: number; token: number; step: number }) => void;
  /** Called with each step's next-token logits [B][vocab] (before sampling), e.g. for log-probs. */
  onLogits?: (step: number, logits: Float32Array[]) => void;
}

export type FinishReason = "eos" | "stop" | "length";

export interface GenerateResult {
  /** Prompt (left-padded) plus generated tokens, padded with padTokenId after a row finishes. */
  sequences: number[][];
  /** Each row's new tokens up to and including its EOS token. */
  newTokens: number[][];
  finishReasons: FinishReason[];
}

/** Left-pads token-id rows to a batch, as Hugging Face tokenizers do with padding_side="left". */
export function leftPad(prompts: number[][], padTokenId: number): { inputIds: number[][]; attentionMask: number[][] } {
  const L = Math.max(...prompts.map((p) => p.length));
  return {
    inputIds: prompts.map((p) => [...new Array<number>(L - p.length).fill(padTokenId), ...p]),
    attentionMask: prompts.map((p) => [...new Array<number>(L - p.length).fill(0), ...new Array<number>(p.length).fill(1)]),
  };
}

/** Logits of the last position of each row, [B, vocab], without computing the others'. */
function lastLogits(model: Qwen2Model, hidden: tf.Tensor2D, B: number, L: number): tf.Tensor2D {
  return tf.tidy(() => model.logitsFromHidden(tf.gather(hidden, Array.from({ length: B }, (_, b) => b * L + L - 1)) as tf.Tensor2D));
}

/**
 * Autoregressive generation with a KV cache (prefill once, then one token per step), batched over
 * left-padded prompts, like transformers' generate(): greedy or seeded sampling; rows stop on EOS ids,
 * stop strings or max_new_tokens. Reads the logits synchronously: on WebGPU use generateAsync.
 */
export function generate(model: Qwen2Model, input: { inputIds: number[][]; attentionMask?: number[][] }, opts: GenerateOptions): GenerateResult {
  const steps = generationSteps(model, input, opts);
  try {
    let next = steps.next();
    while (!next.done) next = steps.next(readAndDispose(next.value, (t) => t.dataSync() as Float32Array));
    return next.value;
  } finally {
    steps.return(undefined as never); // frees the KV cache when a read failed
  }
}

/**
 * `generate` reading each step's logits asynchronously (as a GPU backend needs) and giving the event loop a
 * turn after every token step: a server streams tokens and takes requests meanwhile.
 */
export async function generateAsync(model: Qwen2Model, input: { inputIds: number[][]; attentionMask?: number[][] }, opts: GenerateOptions): Promise<GenerateResult> {
  const steps = generationSteps(model, input, opts);
  try {
    let next = steps.next();
    while (!next.done) {
      const flat = await readAndDispose(next.value, (t) => t.data() as Promise<Float32Array>);
      await new Promise((r) => setImmediate(r));
      next = steps.next(flat);
    }
    return next.value;
  } finally {
    steps.return(undefined as never);
  }
}

/** `read(t)`, then t is disposed (once the read has finished, when it is a promise), whether it failed or not. */
function readAndDispose<T>(t: tf.Tensor, read: (t: tf.Tensor) => T): T {
  let result: T;
  try {
    result = read(t);
  } catch (e) {
    t.dispose();
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => t.dispose()) as T;
  t.dispose();
  return result;
}

/** The generation loop: yields each step's logits [B, vocab] and resumes with their values. */
function* generationSteps(
  model: Qwen2Model,
  input: { inputIds: number[][]; attentionMask?: number[][] },
  opts: GenerateOptions,
): Generator<tf.Tensor2D, GenerateResult, Float32Array> {
  const cfgEos = model.config.eosTokenId;
  const eos = opts.eosTokenIds ?? (cfgEos === null ? [] : Array.isArray(cfgEos) ? cfgEos : [cfgEos]);
  const pad = opts.padTokenId ?? eos[0] ?? 0;
  if (opts.stopStrings?.length && !opts.decode) throw new Error("generate: stopStrings need a decode function");
  // A byte-level BPE token holds at least a quarter of a character (UTF-8 is at most 4 bytes per char), so this
  // many trailing tokens cover any stop string, with a margin.
  const stopWindow = opts.stopStrings?.length ? 4 * Math.max(...opts.stopStrings.map((s) => s.length)) + 8 : 0;
  const B = input.inputIds.length;
  const mask = (input.attentionMask ?? input.inputIds.map((r) => r.map(() => 1))).map((r) => [...r]);
  const sequences = input.inputIds.map((r) => [...r]);
  const newTokens: number[][] = input.inputIds.map(() => []);
  const finishReasons: (FinishReason | null)[] = new Array(B).fill(null);
  const budget = (b: number) => Math.min(opts.maxNewTokens, opts.rowMaxNewTokens?.[b] ?? Infinity);
  const random = seededRandom(opts.seed ?? 0);
  const cache = new KVCache();
  try {
    let stepIds = input.inputIds;
    for (let step = 0; step < opts.maxNewTokens; step++) {
      const hidden = model.hiddenStates({ inputIds: stepIds, attentionMask: mask }, { cache });
      let stepLogits: tf.Tensor2D;
      try {
        stepLogits = lastLogits(model, hidden, B, stepIds[0].length);
      } finally {
        hidden.dispose();
      }
      const flat = yield stepLogits;
      const V = model.config.vocabSize;
      const logits = Array.from({ length: B }, (_, b) => flat.slice(b * V, (b + 1) * V));
      opts.onLogits?.(step, logits);
      const next = logits.map((row, b) => {
        if (finishReasons[b] !== null) return pad;
        return opts.doSample ? sampleToken(row, opts, random) : argmax(row);
      });
      for (let b = 0; b < B; b++) {
        sequences[b].push(next[b]);
        mask[b].push(1);
        if (finishReasons[b] !== null) continue;
        newTokens[b].push(next[b]);
        opts.onToken?.({ row: b, token: next[b], step });
        if (eos.includes(next[b])) finishReasons[b] = "eos";
        else if (stopWindow > 0) {
          // A stop string absent before this token can only end in it: decode just the tail.
          const tail = opts.decode!(newTokens[b].slice(-stopWindow));
          if (opts.stopStrings!.some((s) => tail.includes(s))) finishReasons[b] = "stop";
        }
        if (finishReasons[b] === null && newTokens[b].length >= budget(b)) finishReasons[b] = "length";
      }
      if (finishReasons.every((r) => r !== null)) break;
      stepIds = next.map((t) => [t]);
    }
  } finally {
    cache.dispose();
  }
  return { sequences, newTokens, finishReasons: finishReasons.map((r) => r ?? "length") };
}
