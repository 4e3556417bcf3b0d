import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { dataSourceFrom, prepareDataset } from "../../src/data/index.js";
import type { MathExample } from "../../src/data/types.js";
import { endpointGenerator, evaluate, loadGenerationModel, modelGenerator } from "../../src/eval/index.js";
import { generate, type Qwen2Model } from "../../src/model/index.js";
import { GenerationEngine, startServer, type RunningServer } from "../../src/serve/index.js";
import type { Tokenizer } from "../../src/tokenizer/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const KEY = "sk-test-key";
let model: Qwen2Model;
let tokenizer: Tokenizer;
let engine: GenerationEngine;
let server: RunningServer;
let client: OpenAI;
let problems: MathExample[];

before(async () => {
  ({ model, tokenizer } = await loadGenerationModel({ model: "tiny-math" }));
  engine = new GenerationEngine(model, tokenizer, { maxBatch: 8, maxQueue: 64 });
  server = await startServer(engine, { modelName: "tiny-math", port: 0, apiKey: KEY, maxBodyBytes: 4096 });
  client = new OpenAI({ baseURL: server.url, apiKey: KEY, maxRetries: 0 });
  problems = (await prepareDataset(dataSourceFrom("generated"), { split: { validation: 6, seed: 42 } })).split.validation;
});
after(async () => {
  await server.close();
  model.dispose();
});

/** The project's own greedy generation for the same chat, as the reference the server must reproduce. */
function direct(messages: { role: "system" | "user"; content: string }[], maxNewTokens: number): string {
  const ids = tokenizer.encodeChat(messages, { addGenerationPrompt: true });
  const r = generate(model, { inputIds: [ids] }, { maxNewTokens, eosTokenIds: tokenizer.chatStopIds, padTokenId: tokenizer.padTokenId });
  return tokenizer.decode(r.newTokens[0]!, { skipSpecialTokens: true });
}

const question = [{ role: "user" as const, content: "What is 12 + 30?" }];

test("the official openai client: models, chat (greedy = in-process generation), completions, n, stop", async () => {
  assert.deepEqual((await client.models.list()).data.map((m) => m.id), ["tiny-math"]);
  const chat = await client.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 40, temperature: 0 });
  assert.equal(chat.object, "chat.completion");
  assert.equal(chat.choices[0]!.message.content, direct(question, 40));
  assert.equal(chat.choices[0]!.finish_reason, "stop");
  assert.equal(chat.usage!.prompt_tokens, tokenizer.encodeChat(question, { addGenerationPrompt: true }).length);

  const two = await client.completions.create({ model: "tiny-math", prompt: "Problem: 2 + 2 =", max_tokens: 8, temperature: 0, n: 2 });
  assert.equal(two.choices.length, 2);
  assert.equal(two.choices[0]!.text, two.choices[1]!.text, "greedy: both choices alike");
  assert.equal(two.choices[0]!.finish_reason, "length");
  assert.equal(two.usage!.completion_tokens, 16);

  const full = chat.choices[0]!.message.content!;
  const cut = full.indexOf("answer");
  assert.ok(cut > 0, full);
  const stopped = await client.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 40, temperature: 0, stop: ["answer"] });
  assert.equal(stopped.choices[0]!.message.content, full.slice(0, cut));
  assert.equal(stopped.choices[0]!.finish_reason, "stop");
});

test("streaming: server-sent chunks add up to the same text, role first, finish reason and usage last", async () => {
  const stream = await client.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 40, temperature: 0, stream: true, stream_options: { include_usage: true } });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const content = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? "")).join("");
  assert.equal(content, direct(question, 40));
  assert.ok(chunks.length > 3, "several chunks, as tokens come");
  assert.equal(chunks[0]!.choices[0]!.delta.role, "assistant");
  assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, "stop");
  assert.ok(chunks.at(-1)!.usage!.completion_tokens > 0);
  const text = await client.completions.create({ model: "tiny-math", prompt: "Problem: 2 + 2 =", max_tokens: 8, temperature: 0, stream: true });
  let streamed = "";
  for await (const c of text) streamed += c.choices[0]?.text ?? "";
  const whole = await client.completions.create({ model: "tiny-math", prompt: "Problem: 2 + 2 =", max_tokens: 8, temperature: 0 });
  assert.equal(streamed, whole.choices[0]!.text);
});

test("errors come in the OpenAI shape and name the problem: key, model, field, unsupported parameter, size, JSON", async () => {
  const expectError = async (call: Promise<unknown>, status: number, pattern: RegExp, param?: string) => {
    await assert.rejects(call, (e: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(e.status, status);
      assert.match(e.message, pattern);
      if (param) assert.equal(e.param, param);
      return true;
    });
  };
  await expectError(new OpenAI({ baseURL: server.url, apiKey: "wrong", maxRetries: 0 }).models.list(), 401, /API key/);
  await expectError(client.chat.completions.create({ model: "gpt-4", messages: question }), 404, /model 'gpt-4' does not exist; this server serves 'tiny-math'/, "model");
  await expectError(client.chat.completions.create({ model: "tiny-math", messages: question, temperature: 5 }), 400, /temperature/, "temperature");
  await expectError(client.chat.completions.create({ model: "tiny-math", messages: [] }), 400, /messages/, "messages");
  await expectError(client.chat.completions.create({ model: "tiny-math", messages: question, logprobs: true }), 400, /'logprobs' is not supported/, "logprobs");
  await expectError(client.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 10 ** 6 }), 400, /maximum context length is \d+ tokens/, "max_tokens");
  const post = (body: string) => fetch(`${server.url}/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body });
  const big = await post(JSON.stringify({ model: "tiny-math", messages: [{ role: "user", content: "x".repeat(5000) }] }));
  assert.equal(big.status, 413);
  assert.match(((await big.json()) as { error: { message: string } }).error.message, /larger than this server's limit of 4096 bytes/);
  const bad = await post("{not json");
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /not valid JSON/);
});

test("concurrent requests are generated in shared batches; a full queue answers 429", async () => {
  const before = { ...engine.stats };
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => client.chat.completions.create({ model: "tiny-math", messages: [{ role: "user", content: `What is ${i} + 5?` }], max_tokens: 24, temperature: 0 })),
  );
  assert.equal(answers.length, 8);
  const batches = engine.stats.batches - before.batches;
  assert.ok(batches < 8, `8 requests in ${batches} batches`);
  for (const [i, a] of answers.entries()) assert.equal(a.choices[0]!.message.content, direct([{ role: "user", content: `What is ${i} + 5?` }], 24), "batching does not change a greedy answer");

  const small = new GenerationEngine(model, tokenizer, { maxBatch: 1, maxQueue: 1 });
  const busy = await startServer(small, { modelName: "tiny-math", port: 0 });
  try {
    const c = new OpenAI({ baseURL: busy.url, apiKey: "none", maxRetries: 0 });
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => c.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 16 })));
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as InstanceType<typeof OpenAI.APIError>);
    assert.ok(refused.length >= 1 && refused.every((e) => e.status === 429 && /queue is full/.test(e.message)), JSON.stringify(refused.map((e) => e.message)));
    assert.ok(results.some((r) => r.status === "fulfilled"));
  } finally {
    await busy.close();
  }
});

test("stopping the server finishes the running batch and answers 503 to the requests still waiting", async () => {
  const one = new GenerationEngine(model, tokenizer, { maxBatch: 1, maxQueue: 8 });
  const stopping = await startServer(one, { modelName: "tiny-math", port: 0 });
  const c = new OpenAI({ baseURL: stopping.url, apiKey: "none", maxRetries: 0 });
  const ask = () => c.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 32, temperature: 0 });
  const running = ask();
  // Settled into a value at once: a rejection nobody awaits yet would be an unhandled one.
  const waiting = ask().then(() => undefined, (e: InstanceType<typeof OpenAI.APIError>) => e);
  while (one.waiting < 1) await new Promise((r) => setTimeout(r, 5));
  const closed = stopping.close();
  assert.equal((await running).choices.length, 1, "the running request completes");
  const refused = await waiting;
  assert.equal(refused?.status, 503);
  assert.match(refused!.message, /shutting down/);
  await closed;
});

test("evaluate through the endpoint scores exactly as in-process evaluation (greedy)", async () => {
  const settings = { batchSize: 1, maxNewTokens: 64, temperature: 0 };
  const local = await evaluate(modelGenerator("local", model, tokenizer), problems, settings);
  const remote = await evaluate(endpointGenerator("remote", { baseUrl: server.url, model: "tiny-math", apiKey: KEY, concurrency: 1 }), problems, settings);
  assert.deepEqual(remote.samples.map((s) => s.prediction), local.samples.map((s) => s.prediction));
  assert.deepEqual(remote.samples.map((s) => s.correct), local.samples.map((s) => s.correct));
  assert.equal(remote.summary.accuracy, local.summary.accuracy);
});

/** `openr1 serve` as a child process on a free port; resolves with its URL. */
function serveChild(): Promise<{ url: string; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "serve", "tiny-math", "--port", "0"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+\/v1)/.exec(out);
      if (m) resolve({ url: m[1]!, kill: () => (child.kill("SIGKILL"), exited) });
    });
    void exited.then(() => reject(new Error(`serve exited: ${out}`)));
  });
}

test("a server killed mid-evaluation: the completions received are kept, and the rerun asks only for the rest", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-endpoint-"));
  const cacheFile = join(dir, "tuned.completions.jsonl");
  try {
    const settings = { batchSize: 1, maxNewTokens: 64, temperature: 0 };
    const first = await serveChild();
    const gen1 = endpointGenerator("tuned", { baseUrl: first.url, model: "tiny-math", concurrency: 1, maxRetries: 1, cacheFile });
    await assert.rejects(
      evaluate(gen1, problems, { ...settings, onProgress: (done) => void (done === 3 && first.kill()) }),
      /the chat completion failed after 1 retries .*the 3 completions received so far are kept in .*tuned\.completions\.jsonl: run the same command again/,
    );
    assert.equal(readFileSync(cacheFile, "utf8").trim().split("\n").length, 3);

    const second = await serveChild();
    try {
      const gen2 = endpointGenerator("tuned", { baseUrl: second.url, model: "tiny-math", concurrency: 1, cacheFile });
      const result = await evaluate(gen2, problems, settings);
      assert.equal(result.samples.length, problems.length);
      assert.deepEqual(gen2.stats, { cached: 3, requested: problems.length - 3 }, "no finished problem is asked for again");
      const straight = await evaluate(modelGenerator("local", model, tokenizer), problems, settings);
      assert.deepEqual(result.samples.map((x) => x.prediction), straight.samples.map((x) => x.prediction));
    } finally {
      await second.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
