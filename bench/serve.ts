/**
 * `openr1 serve` against in-process generation, on the shipped tiny-math model: the same prompts (chat-formatted
 * problems, greedy, 64 new tokens), generated in-process one at a time and in batches of 8, then through the HTTP
 * server with the official openai client at concurrency 1 and 8 (the server batches concurrent requests).
 *
 * Run alone: node --import tsx bench/serve.ts [--quick]
 */
import OpenAI from "openai";
import { dataSourceFrom, prepareDataset } from "../src/data/index.js";
import { buildPrompt, loadGenerationModel, modelGenerator } from "../src/eval/index.js";
import { GenerationEngine, startServer } from "../src/serve/index.js";
import { OPEN_R1_SYSTEM_PROMPT } from "../src/train/format.js";

export interface ServeBenchRow {
  path: string;
  concurrency: number;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
}

const MAX_TOKENS = 64;

export async function runServeBench(options: { requests?: number } = {}): Promise<ServeBenchRow[]> {
  const n = options.requests ?? 32;
  const loaded = await loadGenerationModel({ model: "tiny-math" });
  const { model, tokenizer } = loaded;
  const problems = (await prepareDataset(dataSourceFrom("generated"), { split: { validation: n, seed: 7 } })).split.validation;
  const prompts = problems.map((p) => buildPrompt(p));
  const rows: ServeBenchRow[] = [];
  const row = (path: string, concurrency: number, seconds: number, tokens: number) =>
    rows.push({ path, concurrency, requests: n, seconds: Number(seconds.toFixed(2)), requestsPerSecond: Number((n / seconds).toFixed(2)), tokensPerSecond: Math.round(tokens / seconds) });

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
      row("openr1 serve over HTTP", concurrency, (performance.now() - t0) / 1000, tokens);
    }
  } finally {
    await server.close();
    loaded.dispose();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runServeBench({ requests: process.argv.includes("--quick") ? 16 : 32 }));
}
