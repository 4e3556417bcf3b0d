import { generateAsync, leftPad, type FinishReason, type Qwen2Model } from "../model/index.js";
import type { Tokenizer } from "../tokenizer/index.js";

/** One completion to produce: prompt token ids, its budget and sampling, and where its text goes as it grows. */
export interface GenerationJob {
  promptIds: number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed?: number;
  stop: string[];
  /** Called with each new piece of text (streaming). */
  onText?: (delta: string) => void;
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

interface Pending {
  job: GenerationJob;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

/** Jobs that can share a batch: generation options are per batch, budgets per row. */
function batchKey(j: GenerationJob): string {
  return JSON.stringify([j.temperature, j.topP, j.seed ?? null, j.stop]);
}

/** Text that may still change: a stop string's beginning at the end, or a partial UTF-8 character. */
function heldBack(text: string, stop: string[]): number {
  let hold = text.endsWith("\uFFFD") ? 1 : 0;
  for (const s of stop) {
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--) if (text.endsWith(s.slice(0, k))) hold = k;
  }
  return hold;
}

/**
 * Runs generation jobs on one model in batches: jobs waiting when the model is free are generated together (up
 * to `maxBatch`, those with the same sampling settings), each with its own budget; a bounded queue refuses
 * more work instead of growing without limit. Text streams out as tokens are produced, cut at stop strings.
 */
export class GenerationEngine {
  private readonly queue: Pending[] = [];
  private running = false;
  private closed = false;
  /** Jobs generated so far and batches run, for the server's stats. */
  readonly stats = { jobs: 0, batches: 0, tokens: 0 };

  constructor(
    readonly model: Qwen2Model,
    readonly tokenizer: Tokenizer,
    private readonly limits: { maxBatch: number; maxQueue: number },
  ) {}

  get waiting(): number {
    return this.queue.length;
  }

  submit(job: GenerationJob): Promise<JobResult> {
    if (this.closed) return Promise.reject(new EngineClosedError());
    if (this.queue.length >= this.limits.maxQueue) {
      return Promise.reject(new QueueFullError(`the server's queue is full (${this.limits.maxQueue} requests waiting); retry later`));
    }
    return new Promise<JobResult>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Refuses new jobs and fails the waiting ones; the running batch finishes. */
  close(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new EngineClosedError());
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const key = batchKey(this.queue[0]!.job);
        const batch: Pending[] = [];
        for (let i = 0; i < this.queue.length && batch.length < this.limits.maxBatch; ) {
          if (batchKey(this.queue[i]!.job) === key) batch.push(...this.queue.splice(i, 1));
          else i++;
        }
        await this.runBatch(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const jobs = batch.map((p) => p.job);
    const first = jobs[0]!;
    const tok = this.tokenizer;
    const texts = jobs.map(() => "");
    const sent = jobs.map(() => 0);
    const stopped = jobs.map(() => false);
    const tokens: number[][] = jobs.map(() => []);
    const emit = (row: number, final: boolean) => {
      const job = jobs[row]!;
      let text = texts[row]!;
      let end = text.length;
      const at = job.stop.length ? Math.min(...job.stop.map((s) => text.indexOf(s)).filter((i) => i >= 0)) : Infinity;
      if (Number.isFinite(at)) {
        end = at;
        stopped[row] = true;
      } else if (!final) end -= heldBack(text, job.stop);
      if (end > sent[row]!) job.onText?.(text.slice(sent[row], end));
      sent[row] = Math.max(sent[row]!, end);
      texts[row] = text = text.slice(0, Number.isFinite(at) ? at : text.length);
    };
    try {
      const input = leftPad(jobs.map((j) => j.promptIds), tok.padTokenId);
      const r = await generateAsync(this.model, input, {
        maxNewTokens: Math.max(...jobs.map((j) => j.maxTokens)),
        rowMaxNewTokens: jobs.map((j) => j.maxTokens),
        eosTokenIds: tok.chatStopIds,
        padTokenId: tok.padTokenId,
        doSample: first.temperature > 0,
        temperature: first.temperature > 0 ? first.temperature : undefined,
        topP: first.topP,
        seed: first.seed,
        stopStrings: first.stop.length ? first.stop : undefined,
        decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
        onToken: ({ row, token }) => {
          if (stopped[row]) return;
          tokens[row]!.push(token);
          // Text as it grows is only needed to stream it or to cut it at a stop string.
          if (!jobs[row]!.onText && jobs[row]!.stop.length === 0) return;
          texts[row] = tok.decode(tokens[row]!, { skipSpecialTokens: true });
          emit(row, false);
        },
      });
      this.stats.batches++;
      batch.forEach((p, row) => {
        if (!stopped[row]) texts[row] = tok.decode(tokens[row]!, { skipSpecialTokens: true });
        emit(row, true);
        const reason: FinishReason = stopped[row] ? "stop" : r.finishReasons[row]!;
        this.stats.jobs++;
        this.stats.tokens += r.newTokens[row]!.length;
        p.resolve({ text: texts[row]!, completionTokens: r.newTokens[row]!.length, finishReason: reason === "length" ? "length" : "stop" });
      });
    } catch (e) {
      for (const p of batch) p.reject(e as Error);
    }
  }
}
