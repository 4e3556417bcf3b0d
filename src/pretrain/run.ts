import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatedRow, generateProblems } from "../data/synthetic/index.js";
import { toMathExample } from "../data/preprocess.js";
import { evaluate, loadModelGenerator } from "../eval/index.js";
import { FullModel } from "../model/full.js";
import { parseQwen2Config } from "../model/config.js";
import { Qwen2Model } from "../model/qwen2.js";
import { randomQwen2Model } from "../model/random.js";
import { saveQwen2Model } from "../model/save.js";
import { writeJsonAtomic } from "../files/atomic.js";
import { buildVocabMap, loadTokenizer, Tokenizer, VocabMap, writeTrimmedTokenizer } from "../tokenizer/index.js";
import type { TrainerCallback } from "../train/callbacks.js";
import { latestCheckpoint } from "../train/checkpoint.js";
import type { TokenizedExample } from "../train/format.js";
import { train, type TrainResult } from "../train/trainer.js";
import { corpusDocuments } from "./corpus.js";
import { packDocuments } from "./pack.js";
import { TINY_MATH_RECIPE, type PretrainRecipe } from "./recipe.js";

export const PROVENANCE_FILE = "provenance.json";
const FIRST_LOSSES_FILE = "first_losses.json";
const FIRST_LOSSES_KEPT = 5;

/** provenance.json: how a pretrained model was made and what it measured. */
export interface Provenance {
  format: "openr1-ts/pretrain-provenance@1";
  recipe: PretrainRecipe;
  command: string;
  corpus: { documents: number; trainRows: number; validationRows: number; tokens: number; sha256: string };
  vocab: { size: number; baseVocabSize: number };
  training: {
    steps: number;
    /** The loss of each of the first optimizer steps: a rerun of the recipe reproduces them. */
    firstLosses: number[];
    finalTrainLoss: number;
    finalValidationLoss: number | null;
    backend: string;
  };
  /** Greedy answers (chat prompt, no fine-tuning) to generated problems, checked by the answer checker. */
  check: { problems: number; seed: number; correct: number; accuracy: number };
  /** sha256 of each file of the model folder (but this one). */
  files: Record<string, string>;
  /** Files changed after the model was made, and why (the weights and the numbers above stay what was measured). */
  amendments?: { date: string; files: string[]; reason: string }[];
}

export interface PreparedCorpus {
  tokenizer: Tokenizer;
  train: TokenizedExample[];
  validation: TokenizedExample[];
  documents: number;
  sha256: string;
  /** The texts the vocabulary was made from: the documents, then the fine-tuning texts. */
  texts: string[];
}

/** sha256 of the packed token ids (int32 little-endian, row after row). */
function rowsHash(rows: TokenizedExample[]): string {
  const h = createHash("sha256");
  for (const r of rows) h.update(new Uint8Array(Int32Array.from(r.inputIds).buffer));
  return h.digest("hex");
}

/**
 * The texts whose tokens the vocabulary must hold besides the corpus: fine-tuning rows (problem, solution
 * and reasoning trace) of the generated fine-tuning pool. Their token types (digits, the templates' words)
 * are the corpus's; no problem of theirs is trained on in pretraining.
 */
function fineTuneTexts(seed: number): string[] {
  const texts: string[] = [];
  for (const p of generateProblems({ seed, pool: "finetune", count: 2000 })) {
    const row = generatedRow(p);
    texts.push(row.problem, row.solution, ...row.generations);
  }
  return texts;
}

/**
 * Lets the event loop run (a Ctrl-C handler) after about every 100 ms of synchronous work, and throws the signal's
 * reason once it is aborted: a long loop that awaits it stops within a fraction of a second.
 */
function yielder(signal?: AbortSignal): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < 100) return;
    await new Promise((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
    last = performance.now();
  };
}

export interface PrepareCorpusOptions {
  /** Stops the preparation within a fraction of a second: it rejects with the signal's reason. */
  signal?: AbortSignal;
  /** After every tenth of the documents is encoded. */
  onProgress?(encoded: number, total: number): void;
}

/**
 * Corpus → trimmed vocabulary → token ids → packed rows: a pure function of the recipe. Each document is encoded
 * once (full ids, from which both the vocabulary and the model ids come).
 */
export async function prepareCorpus(recipe: PretrainRecipe, options: PrepareCorpusOptions = {}): Promise<PreparedCorpus> {
  const tick = yielder(options.signal);
  const base = loadTokenizer();
  const { documents, validationDocuments, chatFraction } = recipe.corpus;
  // The ids every vocabulary map holds (byte-level tokens, special tokens), then those the texts use.
  const used = new Set(buildVocabMap(base, []).toJSON().ids);
  const fullIds: number[][] = [];
  // The texts the vocabulary is made from: the documents, then the fine-tuning texts.
  const texts: string[] = [];
  const total = documents + validationDocuments;
  for (const doc of corpusDocuments(base, { seed: recipe.seed, documents: total, chatFraction })) {
    const ids = base.encode(doc, { addSpecialTokens: false });
    for (const id of ids) used.add(id);
    fullIds.push(ids);
    texts.push(doc);
    if (fullIds.length % Math.ceil(total / 10) === 0) options.onProgress?.(fullIds.length, total);
    await tick();
  }
  for (const text of fineTuneTexts(recipe.seed)) {
    for (const id of base.encode(text, { addSpecialTokens: false })) used.add(id);
    texts.push(text);
    await tick();
  }
  const map = new VocabMap([...used].sort((a, b) => a - b), base.baseVocab);
  const tokenizer = Tokenizer.withVocabMap(base, map);
  const separator = tokenizer.tokenToId("<|endoftext|>")!;
  const ids: number[][] = [];
  for (const f of fullIds) {
    ids.push(map.toModel(f));
    await tick();
  }
  const validation = packDocuments(ids.slice(0, validationDocuments), recipe.seqLength, separator, "validation");
  const trainRows = packDocuments(ids.slice(validationDocuments), recipe.seqLength, separator, "train");
  return { tokenizer, train: trainRows, validation, documents: fullIds.length, sha256: rowsHash(trainRows), texts };
}

/** The recipe's initial weights (N(0, 0.02), seeded), with the trimmed vocabulary's special token ids. */
export function initialModel(recipe: PretrainRecipe, tokenizer: Tokenizer): Qwen2Model {
  const m = randomQwen2Model({ ...recipe.model, vocab: tokenizer.vocabSize, seed: recipe.seed });
  const endOfText = tokenizer.tokenToId("<|endoftext|>")!;
  const imEnd = tokenizer.tokenToId("<|im_end|>")!;
  const config = parseQwen2Config({ ...m.config.raw, bos_token_id: endOfText, eos_token_id: imEnd, torch_dtype: "bfloat16" }, "pretrain recipe");
  return new Qwen2Model(config, m.weights, { bos_token_id: endOfText, eos_token_id: [imEnd, endOfText], pad_token_id: endOfText });
}

export interface PretrainOptions {
  recipe?: PretrainRecipe;
  /** The recipe's corpus when already prepared (prepareCorpus takes about a minute). */
  corpus?: PreparedCorpus;
  /** Checkpoints, then the model (model/, with provenance.json) go here. */
  outputDir: string;
  /** Continue from the latest checkpoint in outputDir. */
  resume?: boolean;
  callbacks?: TrainerCallback[];
  /** Stops after the current step, with a checkpoint (as Ctrl-C does). */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** The command line recorded in the provenance. */
  command?: string;
  backend?: string;
}

export interface PretrainResult extends TrainResult {
  /** Absent when it was interrupted while preparing the corpus. */
  corpus?: PreparedCorpus;
  /** What an interruption (status "aborted") stopped. */
  interruptedDuring?: "corpus preparation" | "training" | "the check";
  provenance?: Provenance;
}

function fileHashes(dir: string, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, createHash("sha256").update(readFileSync(join(dir, n))).digest("hex")]));
}

/**
 * `openr1 pretrain`: a Qwen2 model trained from scratch, every weight trainable, on the recipe's corpus;
 * checkpoints and exact resume as in fine-tuning. The finished model (HF layout, BF16, tokenizer files in the
 * trimmed vocabulary's ids) gets a provenance.json with the recipe, the corpus hash, the losses and its measured
 * accuracy.
 */
export async function runPretrain(opts: PretrainOptions): Promise<PretrainResult> {
  const recipe = opts.recipe ?? TINY_MATH_RECIPE;
  const log = opts.log ?? (() => {});
  let corpus = opts.corpus;
  if (!corpus) {
    const count = (n: number) => n.toLocaleString("en-US");
    log(`preparing the corpus (${count(recipe.corpus.documents + recipe.corpus.validationDocuments)} documents)…`);
    try {
      corpus = await prepareCorpus(recipe, { signal: opts.signal, onProgress: (n, total) => log(`corpus: ${count(n)} of ${count(total)} documents encoded`) });
    } catch (e) {
      if (!opts.signal?.aborted) throw e;
      const checkpoint = opts.resume ? latestCheckpoint(opts.outputDir) : undefined;
      return {
        globalStep: checkpoint?.step ?? 0, maxSteps: recipe.trainer.maxSteps ?? 0, steps: [], evals: [], logHistory: [], changes: [],
        lastCheckpoint: checkpoint?.dir, status: "aborted", interruptedDuring: "corpus preparation",
      };
    }
  }
  const { tokenizer } = corpus;
  log(`corpus: ${corpus.documents} documents → ${corpus.train.length} train rows + ${corpus.validation.length} validation rows of ${recipe.seqLength} tokens; vocabulary ${tokenizer.vocabSize} tokens`);
  const model = initialModel(recipe, tokenizer);
  const full = new FullModel(model);
  log(full.trainableParameters().text);
  const firstLossesPath = join(opts.outputDir, FIRST_LOSSES_FILE);
  const resumeFrom = opts.resume && latestCheckpoint(opts.outputDir) ? "latest" : undefined;
  const firstLosses: number[] = resumeFrom && existsSync(firstLossesPath) ? JSON.parse(readFileSync(firstLossesPath, "utf8")) : [];
  const recordFirst: TrainerCallback = {
    onStepEnd(logs, state) {
      if (state.globalStep > FIRST_LOSSES_KEPT || firstLosses.length >= state.globalStep) return;
      firstLosses.push(logs.loss);
      writeFileSync(firstLossesPath, JSON.stringify(firstLosses) + "\n");
    },
  };
  // The model's tokenizer files, checked before training against every 25th text of the corpus (the shipped
  // model's against all of them): they must give the ids the corpus was encoded with.
  const tokenizerDir = join(opts.outputDir, "tokenizer");
  mkdirSync(tokenizerDir, { recursive: true });
  const modelTokenizer = writeTrimmedTokenizer(tokenizer, tokenizerDir, corpus.texts.filter((_, i) => i % 25 === 0));
  const saveModel = async (dir: string) => {
    await saveQwen2Model(model, dir, { dtype: "BF16" });
    modelTokenizer.saveTo(dir); // tokenizer.json and tokenizer_config.json
  };
  try {
    const result = await train({
      model: full,
      train: corpus.train,
      validation: corpus.validation,
      padTokenId: tokenizer.padTokenId,
      // No validation loss before the first step: the shipped model's run took none (its recipe predates the setting).
      config: { ...recipe.trainer, evalOnStart: false, seed: recipe.seed, outputDir: opts.outputDir },
      callbacks: [recordFirst, ...(opts.callbacks ?? [])],
      outputs: { saveModel },
      resumeFrom,
      signal: opts.signal,
    });
    if (result.status !== "completed") return { ...result, corpus, interruptedDuring: "training" };
    const modelDir = result.savedModelDir!;
    log(`checking the model on ${recipe.check.problems} generated problems…`);
    const examples = [...generateProblems({ seed: recipe.check.seed, pool: "finetune", count: recipe.check.problems })].map((p) => toMathExample(generatedRow(p)));
    const checked = await evaluate(await loadModelGenerator({ model: modelDir, label: "base" }), examples, {
      batchSize: 50, maxNewTokens: recipe.check.maxNewTokens, temperature: 0, topP: 1, seed: recipe.seed, signal: opts.signal,
    });
    if (checked.interrupted) return { ...result, status: "aborted", corpus, interruptedDuring: "the check" };
    const lastTrain = result.logHistory.filter((h) => "loss" in h).at(-1)?.loss ?? NaN;
    const provenance: Provenance = {
      format: "openr1-ts/pretrain-provenance@1",
      recipe,
      command: opts.command ?? "openr1 pretrain",
      corpus: {
        documents: corpus.documents, trainRows: corpus.train.length, validationRows: corpus.validation.length,
        tokens: corpus.train.length * recipe.seqLength, sha256: corpus.sha256,
      },
      vocab: { size: tokenizer.vocabSize, baseVocabSize: tokenizer.vocabMap!.baseVocabSize },
      training: {
        steps: result.globalStep, firstLosses, finalTrainLoss: lastTrain,
        finalValidationLoss: result.evals.at(-1)?.evalLoss ?? null, backend: opts.backend ?? "unknown",
      },
      check: { problems: examples.length, seed: recipe.check.seed, correct: checked.samples.filter((s) => s.correct === true).length, accuracy: checked.summary.accuracy },
      files: fileHashes(modelDir, ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]),
    };
    writeJsonAtomic(join(modelDir, PROVENANCE_FILE), provenance);
    return { ...result, corpus, provenance };
  } finally {
    model.dispose();
  }
}
