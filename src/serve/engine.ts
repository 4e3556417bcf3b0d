import type { z } from "zod";
import { DecodeBatch, freshRandom, leftPad, Sequence, stopIndex, type RowSampling } from "../model/generate.js";
import { seededRandom } from "../rng.js";
import type { Qwen2Model } from "../model/qwen2.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type * as tf from "@tensorflow/tfjs";
import { resolveEngineSettings, type engineSettings } from "./settings.js";

/** One completion to produce: prompt token ids, its sampling (with its budget), and where its text goes as it grows. */
export interface GenerationJob {
  promptIds: number[];
  sampling: RowSampling & { maxNewTokens: number };
  /** Called with each new piece of text (streaming). */
  onText?: (delta: string) => void;
  /** Aborting it (the client went away) stops the job's generation at the next token step. */
  signal?: AbortSignal;
}

export interface JobResult {
  text: string;
  completionTokens: number;
  finishReason: "stop" | "length";
}

/** The queue is full: the server answers 429 so the client backs off and retries. */
export class QueueFullError extends Error {}

/** The engine was closed (the server is stopping): the server answers 503. */
export class EngineClosedError extends Error {
  constructor() {
    super("the server is shutting down");
  }
}

/** The job's signal was aborted before it finished. */
export class JobCancelledError extends Error {
  constructor() {
    super("the request was cancelled");
  }
}

/** The engine's settings (maxBatch, maxQueue, prefillChunk: src/serve/settings.ts) and two timing knobs. */
export interface EngineLimits extends z.input<typeof engineSettings> {
  /**
   * While other sequences are decoding, a prefill chunk is sized to take about this long (default 25 ms), so their
   * token steps keep coming between a long prompt's chunks.
   */
  prefillSliceMs?: number;
  /**
   * With nothing else running, a prefill chunk is sized to take about this long at most (default 250 ms): a request
   * that arrives waits at most about that for the chunk in progress.
   */
  prefillAloneMs?: number;
}

export interface EngineStats {
  /** Jobs finished, and those cancelled before finishing. */
  jobs: number;
  cancelled: number;
  /** Decode steps, and the rows they advanced (their ratio is the mean batch). */
  steps: number;
  rowSteps: number;
  /** Forward calls over prompt chunks. */
  prefillChunks: number;
  /** Tokens generated. */
  tokens: number;
}

/** Text decoded as tokens come: the part that ends on whole characters is kept, so each update decodes a short tail. */
class GrowingText {
  private fixed = "";
  private from = 0;
  constructor(private readonly decode: (ids: number[]) => string) {}

  of(tokens: number[]): string {
    const tail = this.decode(tokens.slice(this.from));
    // Byte-level tokens after a run of whole characters decode alone to what they decode to after it.
    if (tokens.length - this.from >= 16 && !tail.includes("\uFFFD")) {
      this.fixed += tail;
      this.from = tokens.length;
      return this.fixed;
    }
    return this.fixed + tail;
  }
}

/** Characters at the end of `text` that may still change: a stop string's beginning, or a partial UTF-8 character. */
function heldBack(text: string, stop: readonly string[]): number {
  let hold = text.endsWith("\uFFFD") ? 1 : 0;
  for (const s of stop) {
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--) if (text.endsWith(s.slice(0, k))) hold = k;
  }
  return hold;
}

/** A job in the engine: waiting, prefilling or decoding. */
class Run {
  readonly seq: Sequence;
  cancelled = false;
  private sent = 0;
  private readonly text: GrowingText;

  constructor(
    readonly job: GenerationJob,
    eos: number[],
    private readonly decode: (ids: number[]) => string,
    readonly resolve: (r: JobResult) => void,
    readonly reject: (e: Error) => void,
  ) {
    const s = job.sampling;
    this.seq = new Sequence(job.promptIds, { ...s, eosTokenIds: eos, decode }, s.seed === undefined ? freshRandom() : seededRandom(s.seed));
    this.text = new GrowingText(decode);
  }

  private get stops(): string[] {
    return this.job.sampling.stopStrings ?? [];
  }

  /** Sends the text that can no longer change (streaming). */
  stream(): void {
    if (!this.job.onText) return;
    const text = this.text.of(this.seq.newTokens);
    const end = this.seq.finishReason === "stop" ? this.cut(text) : text.length - (this.seq.finishReason ? 0 : heldBack(text, this.stops));
    if (end > this.sent) this.job.onText(text.slice(this.sent, end));
    this.sent = Math.max(this.sent, end);
  }

  private cut(text: string): number {
    const at = stopIndex(text, this.stops, this.seq.stopFrom);
    return at >= 0 ? at : text.length;
  }

  finish(): void {
    this.stream();
    const text = this.decode(this.seq.newTokens);
    const reason = this.seq.finishReason;
    this.resolve({
      text: reason === "stop" ? text.slice(0, this.cut(text)) : text,
      completionTokens: this.seq.newTokens.length,
      finishReason: reason === "length" ? "length" : "stop",
    });
  }
}

/**
 * Runs generation jobs on one model with continuous batching: a job joins the running batch at the next token step
 * (up to `maxBatch` sequences, each with its own sampling, random generator, budget and stop strings) and leaves it
 * when it finishes or is cancelled. A new prompt is prefilled in chunks that alternate with the running sequences'
 * token steps, so a long prompt does not stall them. A bounded queue refuses more work instead of growing without
 * limit. Text streams out as tokens are produced, cut at stop strings.
 */
export class GenerationEngine {
  private readonly queue: Run[] = [];
  /** Jobs given a place, not yet grouped for prefill: grouped when the next prefill call runs, so that every job admitted since the last one shares it. */
  private admitted: Run[] = [];
  private decoding: { batch: DecodeBatch; runs: Run[] } | null = null;
  /** Groups being prefilled, with the time a prompt token of theirs took in the last chunk (it grows with the context). */
  private prefilling: { batch: DecodeBatch; runs: Run[]; msPerToken?: number }[] = [];
  private running = false;
  private closed = false;
  readonly stats: EngineStats = { jobs: 0, cancelled: 0, steps: 0, rowSteps: 0, prefillChunks: 0, tokens: 0 };
  private readonly decode: (ids: number[]) => string;
  private readonly eos: number[];

  private readonly limits: z.output<typeof engineSettings> & Pick<EngineLimits, "prefillSliceMs" | "prefillAloneMs">;

  constructor(
    readonly model: Qwen2Model,
    readonly tokenizer: Tokenizer,
    limits: EngineLimits = {},
  ) {
    const { prefillSliceMs, prefillAloneMs, ...settings } = limits;
    this.limits = { ...resolveEngineSettings(settings), prefillSliceMs, prefillAloneMs };
    this.decode = (ids) => tokenizer.decode(ids, { skipSpecialTokens: true });
    this.eos = tokenizer.chatStopIds;
  }

  /** Jobs waiting for a place in the batch. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Sequences being prefilled or decoded. */
  get active(): number {
    return (this.decoding?.runs.length ?? 0) + this.admitted.length + this.prefilling.reduce((n, g) => n + g.runs.length, 0);
  }

  /** The mean number of sequences a decode step advanced. */
  get meanBatch(): number {
    return this.stats.steps ? this.stats.rowSteps / this.stats.steps : 0;
  }

  /**
   * Queues jobs that belong together (one request's choices): all of them, or none when the engine is closed
   * (EngineClosedError) or its queue has no room (QueueFullError), thrown before anything starts.
   */
  submit(jobs: GenerationJob[]): Promise<JobResult>[] {
    if (this.closed) throw new EngineClosedError();
    if (this.queue.length + jobs.length > this.limits.maxQueue) {
      throw new QueueFullError(
        jobs.length > this.limits.maxQueue
          ? `the request asks for ${jobs.length} completions; this server queues at most ${this.limits.maxQueue}`
          : `the server's queue is full (${this.queue.length} requests waiting); retry later`,
      );
    }
    const promises = jobs.map((job) => new Promise<JobResult>((resolve, reject) => {
      const run = new Run(job, this.eos, this.decode, resolve, reject);
      if (job.signal?.aborted) return reject(new JobCancelledError());
      job.signal?.addEventListener("abort", () => this.cancel(run), { once: true });
      this.queue.push(run);
    }));
    if (!this.running) {
      // The loop starts on the next turn: the caller answers (e.g. starts its stream) before any model work.
      this.running = true;
      setImmediate(() => void this.loop());
    }
    return promises;
  }

  /** Refuses new jobs and fails the waiting ones; the running sequences finish. */
  close(): void {
    this.closed = true;
    for (const r of this.queue.splice(0)) r.reject(new EngineClosedError());
  }

  private cancel(run: Run): void {
    run.cancelled = true;
    const i = this.queue.indexOf(run);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.stats.cancelled++;
      run.reject(new JobCancelledError());
    }
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length || this.decoding || this.admitted.length || this.prefilling.length) {
        try {
          this.dropCancelled();
          this.admit();
          // Prefill first: a short prompt done now joins the decoding, and this very step gives it its second token.
          if (this.admitted.length || this.prefilling.length) await this.prefillSlice();
          if (this.decoding) await this.decodeStep();
        } catch (e) {
          this.failRunning(e as Error);
        }
        // Requests arrive, streams flush and cancellations land between steps.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }

  /** Waiting jobs take the free places. */
  private admit(): void {
    const free = this.limits.maxBatch - this.active;
    if (free > 0) this.admitted.push(...this.queue.splice(0, free));
  }

  /**
   * The admitted jobs as prefill groups by prompt length (a group pads to its longest prompt); a prompt longer than a
   * chunk is prefilled alone, so that a chunk's attention is one sequence's.
   */
  private group(): void {
    const chunk = this.limits.prefillChunk;
    const taken = this.admitted.splice(0).filter((r) => !r.cancelled || (this.settle(r), false)).sort((a, b) => a.job.promptIds.length - b.job.promptIds.length);
    let group: Run[] = [];
    const flush = () => {
      if (!group.length) return;
      const input = leftPad(group.map((r) => r.job.promptIds), this.tokenizer.padTokenId);
      this.prefilling.push({ batch: new DecodeBatch(this.model, group.map((r) => r.seq), input, this.tokenizer.padTokenId), runs: group });
      group = [];
    };
    for (const run of taken) {
      const length = run.job.promptIds.length;
      if (group.length && (length > chunk || length > 2 * group[0]!.job.promptIds.length + 32)) flush();
      group.push(run);
    }
    flush();
  }

  private dropCancelled(): void {
    if (this.decoding) this.retire(this.decoding);
    this.prefilling = this.prefilling.filter((g) => {
      if (!g.runs.every((r) => r.cancelled)) return true;
      g.batch.dispose();
      for (const r of g.runs) this.settle(r);
      return false;
    });
  }

  /** Settles the finished and cancelled runs of a decoding group and takes their rows out of its batch. */
  private retire(g: { batch: DecodeBatch; runs: Run[] }): void {
    const keep: number[] = [];
    g.runs.forEach((r, i) => (r.cancelled || r.seq.finishReason !== null ? this.settle(r) : keep.push(i)));
    if (keep.length === g.runs.length) return;
    g.batch.keep(keep);
    g.runs = keep.map((i) => g.runs[i]!);
    if (g === this.decoding && g.runs.length === 0) {
      g.batch.dispose();
      this.decoding = null;
    }
  }

  private settle(r: Run): void {
    if (r.cancelled) {
      this.stats.cancelled++;
      r.reject(new JobCancelledError());
    } else {
      this.stats.jobs++;
      r.finish();
    }
  }

  private async read(t: tf.Tensor): Promise<Float32Array> {
    try {
      return (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
  }

  private took(g: { runs: Run[] }, tokens: (number | null)[]): void {
    tokens.forEach((t, i) => {
      if (t === null) return;
      this.stats.tokens++;
      g.runs[i]!.stream();
    });
  }

  private async decodeStep(): Promise<void> {
    const g = this.decoding!;
    const flat = await this.read(g.batch.step());
    this.stats.steps++;
    this.stats.rowSteps += g.runs.length;
    this.took(g, g.batch.advance(flat));
    this.retire(g);
  }

  /**
   * Prefill chunks, of the group with the least prompt left first, for about prefillSliceMs (at least one chunk); a
   * group whose prompt is done joins the decoding.
   */
  private async prefillSlice(): Promise<void> {
    this.group();
    const start = performance.now();
    while (this.prefilling.length) {
      await this.prefillChunk();
      if (performance.now() - start >= (this.limits.prefillSliceMs ?? 25)) break;
    }
  }

  private async prefillChunk(): Promise<void> {
    const g = this.prefilling.reduce((a, b) => (b.batch.promptLeft < a.batch.promptLeft ? b : a));
    const max = this.limits.prefillChunk;
    // Sized from the last chunk's speed to take about the time allowed (the first, unmeasured, 64 tokens beside decoding).
    const target = this.decoding ? (this.limits.prefillSliceMs ?? 25) : (this.limits.prefillAloneMs ?? 250);
    const n = g.msPerToken === undefined ? (this.decoding ? 64 : max) : Math.max(16, Math.min(max, Math.floor(target / Math.max(g.msPerToken, 1e-3))));
    const tokens = Math.min(n, g.batch.promptLeft);
    const t0 = performance.now();
    const logits = g.batch.prefill(n);
    this.stats.prefillChunks++;
    g.msPerToken = (performance.now() - t0) / tokens;
    if (!logits) return;
    this.prefilling.splice(this.prefilling.indexOf(g), 1);
    try {
      this.took(g, g.batch.advance(await this.read(logits)));
    } catch (e) {
      g.batch.dispose();
      for (const r of g.runs) r.reject(e as Error);
      return;
    }
    this.retire(g);
    if (g.runs.length === 0) return g.batch.dispose();
    if (this.decoding) {
      this.decoding.batch.absorb(g.batch);
      this.decoding.runs.push(...g.runs);
    } else this.decoding = { batch: g.batch, runs: g.runs };
  }

  /** A model call failed: every running job fails with its error (the waiting ones go on). */
  private failRunning(e: Error): void {
    const groups = [...(this.decoding ? [this.decoding] : []), ...this.prefilling];
    for (const r of this.admitted.splice(0)) r.reject(e);
    this.decoding = null;
    this.prefilling = [];
    for (const g of groups) {
      g.batch.dispose();
      for (const r of g.runs) r.reject(e);
    }
  }
}
