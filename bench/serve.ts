/**
 * `openr1 serve` against in-process generation, on the shipped tiny-math model: the same prompts (chat-formatted
 * problems, greedy, 64 new tokens), generated in-process one at a time and in batches of 8, then through the HTTP
 * server with the official openai client at concurrency 1 and 8 (the server batches concurrent requests); and a long
 * prompt sent to `openr1 serve` as its own process, with a short request during it (runLongPromptServeBench).
 *
 * Run alone: node --import tsx bench/serve.ts [--quick] [--long-only]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { TINY_MATH_MODEL_DIR } from "../src/model/index.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { dataSourceFrom, prepareDataset } from "../src/data/index.js";
import { buildPrompt, loadGenerationModel, modelGenerator } from "../src/eval/index.js";
import { GenerationEngine, startServer } from "../src/serve/index.js";
import { OPEN_R1_SYSTEM_PROMPT } from "../src/data/prompt.js";

export interface ServeBenchRow {
  path: string;
  concurrency: number;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
  /** Over HTTP: the mean number of sequences a decode step advanced (continuous batching fills it). */
  meanBatch?: number;
}

const MAX_TOKENS = 64;

export async function runServeBench(options: { requests?: number } = {}): Promise<ServeBenchRow[]> {
  const n = options.requests ?? 32;
  const loaded = await loadGenerationModel({ model: "tiny-math" });
  const { model, tokenizer } = loaded;
  const problems = (await prepareDataset(dataSourceFrom("generated"), { split: { validation: n, seed: 7 } })).split.validation;
  const prompts = problems.map((p) => buildPrompt(p));
  const rows: ServeBenchRow[] = [];
  const row = (path: string, concurrency: number, seconds: number, tokens: number, meanBatch?: number) =>
    rows.push({ path, concurrency, requests: n, seconds: Number(seconds.toFixed(2)), requestsPerSecond: Number((n / seconds).toFixed(2)), tokensPerSecond: Math.round(tokens / seconds), ...(meanBatch === undefined ? {} : { meanBatch: Number(meanBatch.toFixed(2)) }) });

  const local = modelGenerator("local", model, tokenizer);
  for (const batch of [1, 8]) {
    const t0 = performance.now();
    let tokens = 0;
    for (let i = 0; i < n; i += batch) {
      for (const g of await local.generate(prompts.slice(i, i + batch), { maxNewTokens: MAX_TOKENS, temperature: 0, topP: 1, seed: 0 })) tokens += g.numTokens;
    }
    row(`in-process generate, batch ${batch}`, batch, (performance.now() - t0) / 1000, tokens);
  }

  const engine = new GenerationEngine(model, tokenizer, { maxBatch: 8, maxQueue: 64 });
  const server = await startServer(engine, { modelName: "tiny-math", port: 0 });
  const client = new OpenAI({ baseURL: server.url, apiKey: "none", maxRetries: 0 });
  try {
    for (const concurrency of [1, 8]) {
      const before = { ...engine.stats };
      const t0 = performance.now();
      let tokens = 0;
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const i = next++;
          const r = await client.chat.completions.create({
            model: "tiny-math",
            messages: [{ role: "system", content: OPEN_R1_SYSTEM_PROMPT }, { role: "user", content: prompts[i]! }],
            max_tokens: MAX_TOKENS,
            temperature: 0,
          });
          tokens += r.usage?.completion_tokens ?? 0;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const steps = engine.stats.steps - before.steps;
      row("openr1 serve over HTTP", concurrency, (performance.now() - t0) / 1000, tokens, steps ? (engine.stats.rowSteps - before.rowSteps) / steps : 0);
    }
  } finally {
    await server.close();
    loaded.dispose();
  }
  return rows;
}


export interface LongPromptRow {
  promptTokens: number;
  newTokens: number;
  /** The long request, sent to the idle server, until its answer. */
  seconds: number;
  /** A short chat request sent `shortAfterSeconds` into the long one: its time to answer. */
  shortSeconds: number;
  shortAfterSeconds: number;
  /** The server process's resident memory: idle before, highest during, and 2 s after the long request. */
  idleRssMiB: number;
  peakRssMiB: number;
  afterRssMiB: number;
}

/** Resident memory of a process, MiB (Linux). */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/**
 * `openr1 serve tiny-math` as its own process, a long prompt (default 8,192 tokens, /v1/completions) sent to it idle,
 * and a short chat request sent while the long one is being prefilled: the long request's time, the short one's, and
 * the server's memory idle, at its peak (sampled every 20 ms) and after.
 */
export async function runLongPromptServeBench(options: { promptTokens?: number; newTokens?: number; shortAfterSeconds?: number } = {}): Promise<LongPromptRow> {
  const promptTokens = options.promptTokens ?? 8192, newTokens = options.newTokens ?? 16, shortAfter = options.shortAfterSeconds ?? 0.5;
  const tokenizer = loadTokenizer(TINY_MATH_MODEL_DIR);
  // Arithmetic like the model's training text, cut to the token count: ids of the folder's tokenizer (/v1/completions takes them).
  const text = Array.from({ length: promptTokens }, (_, i) => `${i % 97} + ${i % 13} = ${(i % 97) + (i % 13)}.`).join(" ");
  const ids = tokenizer.unmapped.encode(text, { addSpecialTokens: false }).slice(0, promptTokens);
  const root = fileURLToPath(new URL("..", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "serve", "tiny-math", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/\S+\/v1)/.exec(out);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`serve exited: ${out}`)));
    });
    const client = new OpenAI({ baseURL: url, apiKey: "none", maxRetries: 0, timeout: 600_000 });
    const short = () => client.chat.completions.create({ model: "tiny-math", messages: [{ role: "user", content: "What is 12 + 30?" }], max_tokens: 16, temperature: 0 });
    await short(); // warm: the first request builds the kernels
    await new Promise((r) => setTimeout(r, 1000));
    const idle = rssMiB(child.pid!);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(child.pid!))), 20);
    const t0 = performance.now();
    const long = client.completions.create({ model: "tiny-math", prompt: ids, max_tokens: newTokens, temperature: 0, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming);
    await new Promise((r) => setTimeout(r, shortAfter * 1000));
    const s0 = performance.now();
    await short();
    const shortSeconds = (performance.now() - s0) / 1000;
    const answer = await long;
    const seconds = (performance.now() - t0) / 1000;
    if (answer.usage?.prompt_tokens !== ids.length) throw new Error(`the long prompt counted ${answer.usage?.prompt_tokens} tokens, not ${ids.length}`);
    await new Promise((r) => setTimeout(r, 2000));
    clearInterval(sampler);
    const after = rssMiB(child.pid!);
    return {
      promptTokens: ids.length, newTokens, seconds: Number(seconds.toFixed(2)), shortSeconds: Number(shortSeconds.toFixed(2)), shortAfterSeconds: shortAfter,
      idleRssMiB: idle, peakRssMiB: peak, afterRssMiB: after,
    };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!process.argv.includes("--long-only")) console.table(await runServeBench({ requests: process.argv.includes("--quick") ? 16 : 32 }));
  console.table([await runLongPromptServeBench()]);
}
