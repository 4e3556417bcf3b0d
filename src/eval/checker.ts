/**
 * A synchronous answer check with a hard time limit. The CAS is synchronous, so a pathological input
 * (a huge power, a deep nest) could block the evaluation forever; each check therefore runs in a
 * worker thread and the caller blocks on shared memory (Atomics.wait) for at most `timeoutMs`. On
 * timeout the worker is terminated, a fresh one is started, and the answer counts as incorrect
 * (`timedOut: true`), as Math-Verify does when its signal-based timeout fires.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { VerifyOptions } from "./verify.js";

export interface CheckRequest {
  id: number;
  /** "verify": Math-Verify on both sides; "accuracy": open-r1's accuracy_reward(pred, gold). */
  kind: "verify" | "accuracy";
  gold: string;
  pred: string;
  options: Partial<VerifyOptions>;
}

export interface CheckSummary {
  correct: boolean;
  timedOut: boolean;
  goldParsed: boolean;
  predParsed: boolean;
  /** The extracted (normalized) answer texts. */
  goldExtracted: string | null;
  predExtracted: string | null;
  /** For "accuracy" requests: open-r1's reward (null: gold unparseable). */
  reward?: number | null;
  error?: string;
}

export interface CheckerOptions {
  /** Limit for one comparison (extraction of both sides + verification). */
  timeoutMs?: number;
  /** Limit for starting the worker and loading the CAS. */
  startupTimeoutMs?: number;
}

function workerUrl(): URL {
  // Under tsx the sources are .ts; the built package ships .js.
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  return new URL(`./check-worker.${ext}`, import.meta.url);
}

export class AnswerChecker {
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private flag: Int32Array = new Int32Array(new SharedArrayBuffer(8));
  private nextId = 1;
  readonly timeoutMs: number;
  readonly startupTimeoutMs: number;

  constructor(options: CheckerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.startupTimeoutMs = options.startupTimeoutMs ?? 60000;
  }

  /**
   * Starts the worker and waits (asynchronously: module loading in the worker needs the main event
   * loop) until the CAS is loaded. Called again after a timeout killed the previous worker.
   */
  async start(): Promise<void> {
    if (this.worker) return;
    const { port1, port2 } = new MessageChannel();
    this.flag = new Int32Array(new SharedArrayBuffer(8));
    const url = workerUrl();
    const options = { workerData: { port: port2, flag: this.flag }, transferList: [port2] };
    // Running from sources, the worker registers tsx itself (Node 20 workers ignore `--import`). An eval'd
    // worker resolves bare specifiers from the current directory: give it tsx's absolute URL, resolved here.
    const worker = url.pathname.endsWith(".ts")
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`,
          { ...options, eval: true },
        )
      : new Worker(url, options);
    this.worker = worker;
    this.port = port1;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(new Error(`answer checker: the verification worker did not start within ${this.startupTimeoutMs} ms`));
      }, this.startupTimeoutMs);
      worker.once("message", () => {
        clearTimeout(timer);
        resolve();
      });
      worker.once("error", (e) => {
        clearTimeout(timer);
        this.close();
        reject(new Error(`answer checker: the verification worker failed to start: ${e.message}`));
      });
    });
    worker.unref();
  }

  /** Checks one prediction against one gold answer; never takes much longer than `timeoutMs`. */
  async check(gold: string, pred: string, options: Partial<VerifyOptions> = {}): Promise<CheckSummary> {
    await this.start();
    return this.checkStarted(gold, pred, options);
  }

  /** open-r1's accuracy_reward under the time limit (null: unparseable gold, or timed out). */
  accuracyStarted(completion: string, solution: string): CheckSummary {
    return this.request("accuracy", solution, completion, {});
  }

  /** The blocking part: the worker must be started (`await start()`). */
  checkStarted(gold: string, pred: string, options: Partial<VerifyOptions> = {}, timeoutMs = this.timeoutMs): CheckSummary {
    return this.request("verify", gold, pred, options, timeoutMs);
  }

  private request(kind: CheckRequest["kind"], gold: string, pred: string, options: Partial<VerifyOptions>, timeoutMs = this.timeoutMs): CheckSummary {
    if (!this.worker) throw new Error("answer checker: call start() first");
    const id = this.nextId++;
    this.port!.postMessage({ id, kind, gold, pred, options } satisfies CheckRequest);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = Atomics.load(this.flag, 0);
      if (current === id) break;
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.flag, 0, current, left) === "timed-out") {
        if (Atomics.load(this.flag, 0) === id) break;
        this.close();
        return { correct: false, timedOut: true, goldParsed: false, predParsed: false, goldExtracted: null, predExtracted: null };
      }
    }
    for (;;) {
      const msg = receiveMessageOnPort(this.port!);
      if (!msg) throw new Error("answer checker: the worker signalled a result but sent none");
      const { id: got, summary } = msg.message as { id: number; summary: CheckSummary };
      if (got === id) return summary;
    }
  }

  /** Stops the worker (a new one starts on the next check). */
  close(): void {
    this.port?.close();
    void this.worker?.terminate();
    this.worker = null;
    this.port = null;
  }
}
