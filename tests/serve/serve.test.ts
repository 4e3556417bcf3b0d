import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import OpenAI from "openai";
import { dataSourceFrom, prepareDataset } from "../../src/data/index.js";
import type { MathExample } from "../../src/data/types.js";
import { cacheReport, endpointGenerator, evaluate, loadGenerationModel, modelGenerator } from "../../src/eval/index.js";
import { generate, type Qwen2Model, type RowSampling } from "../../src/model/index.js";
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
type ApiError = InstanceType<typeof OpenAI.APIError>;

before(async () => {
  ({ model, tokenizer } = await loadGenerationModel({ model: "tiny-math" }));
  engine = new GenerationEngine(model, tokenizer, { maxBatch: 8, maxQueue: 64 });
  server = await startServer(engine, { modelName: "tiny-math", port: 0, apiKey: KEY, maxBodyBytes: 4096, fingerprint: "sha256:test-a", backend: "test-backend", root: "/models/tiny-math" });
  client = new OpenAI({ baseURL: server.url, apiKey: KEY, maxRetries: 0 });
  problems = (await prepareDataset(dataSourceFrom("generated"), { split: { validation: 6, seed: 42 } })).split.validation;
});
after(async () => {
  await server.close();
  model.dispose();
});

/** The project's own generation for the same chat (greedy unless `row` says otherwise), as the reference the server must reproduce. */
function direct(messages: { role: "system" | "user"; content: string }[], maxNewTokens: number, row?: RowSampling): { text: string; tokens: number } {
  const ids = tokenizer.encodeChat(messages, { addGenerationPrompt: true });
  const r = generate(model, { inputIds: [ids] }, { maxNewTokens, eosTokenIds: tokenizer.chatStopIds, padTokenId: tokenizer.padTokenId, rows: row ? [row] : undefined });
  return { text: tokenizer.decode(r.newTokens[0]!, { skipSpecialTokens: true }), tokens: r.newTokens[0]!.length };
}

const question = [{ role: "user" as const, content: "What is 12 + 30?" }];
const chat = (body: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> & Record<string, unknown>, c = client) =>
  c.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 40, ...body } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
const expectError = async (call: Promise<unknown>, status: number, pattern: RegExp, param?: string) => {
  await assert.rejects(call, (e: ApiError) => {
    assert.equal(e.status, status, e.message);
    assert.match(e.message, pattern);
    if (param) assert.equal(e.param, param);
    return true;
  });
};

test("the official openai client: models, chat (greedy = in-process generation), completions, n, stop", async () => {
  assert.deepEqual((await client.models.list()).data.map((m) => m.id), ["tiny-math"]);
  const answer = await chat({ temperature: 0 });
  assert.equal(answer.object, "chat.completion");
  assert.equal(answer.choices[0]!.message.content, direct(question, 40).text);
  assert.equal(answer.choices[0]!.finish_reason, "stop");
  assert.equal(answer.usage!.prompt_tokens, tokenizer.encodeChat(question, { addGenerationPrompt: true }).length);
  assert.equal(answer.system_fingerprint, "sha256:test-a");

  const prompt = "Problem: 2 + 2 =";
  const two = await client.completions.create({ model: "tiny-math", prompt, max_tokens: 8, temperature: 0, n: 2 });
  assert.equal(two.choices.length, 2);
  assert.equal(two.choices[0]!.text, two.choices[1]!.text, "greedy: both choices alike");
  assert.equal(two.choices[0]!.finish_reason, "length");
  assert.equal(two.usage!.completion_tokens, 16);
  assert.equal(two.usage!.prompt_tokens, tokenizer.encode(prompt, { addSpecialTokens: false }).length, "the prompt counts once, whatever n is");

  const full = answer.choices[0]!.message.content!;
  const cut = full.indexOf("answer");
  assert.ok(cut > 0, full);
  const stopped = await chat({ temperature: 0, stop: ["answer"] });
  assert.equal(stopped.choices[0]!.message.content, full.slice(0, cut));
  assert.equal(stopped.choices[0]!.finish_reason, "stop");
});

test("GET /v1/models/{id} describes the model (fingerprint, backend, context); /health answers without the key", async () => {
  const card = (await client.models.retrieve("tiny-math")) as OpenAI.Models.Model & Record<string, unknown>;
  assert.equal(card.id, "tiny-math");
  assert.equal(card.fingerprint, "sha256:test-a");
  assert.equal(card.backend, "test-backend");
  assert.equal(card.root, "/models/tiny-math");
  assert.equal(card.max_model_len, model.config.maxPositionEmbeddings);
  await expectError(client.models.retrieve("gpt-4"), 404, /model 'gpt-4' does not exist/, "model");
  const health = await fetch(server.url.replace(/\/v1$/, "/health"));
  assert.equal(health.status, 200);
  const h = (await health.json()) as Record<string, unknown>;
  assert.equal(h.status, "ok");
  assert.equal(h.backend, "test-backend");
});

test("streaming: server-sent chunks add up to the same text, role first, finish reason and usage last", async () => {
  const stream = await client.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 40, temperature: 0, stream: true, stream_options: { include_usage: true } });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const content = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? "")).join("");
  assert.equal(content, direct(question, 40).text);
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

test("sampling: unseeded requests draw distinct samples; a seeded one is the same alone and in a batch of others", async () => {
  const hot = { temperature: 1.5, max_tokens: 24 };
  const unseeded = await Promise.all([0, 1, 2, 3].map(() => chat(hot)));
  const texts = new Set(unseeded.map((r) => r.choices[0]!.message.content));
  assert.ok(texts.size >= 3, `4 unseeded samples at temperature 1.5, ${texts.size} distinct: ${[...texts].join(" | ")}`);

  const seeded = { temperature: 1.2, top_p: 0.95, seed: 1234, max_tokens: 32 };
  const alone = (await chat(seeded)).choices[0]!.message.content;
  const steps = engine.stats.rowSteps;
  const [inBatch] = await Promise.all([
    chat(seeded),
    chat({ temperature: 0.7, max_tokens: 32 }),
    chat({ temperature: 0, max_tokens: 32, messages: [{ role: "user", content: "What is 7 + 8?" }] }),
    chat({ temperature: 1.5, seed: 9, top_k: 5, max_tokens: 32 }),
  ]);
  assert.ok(engine.stats.rowSteps - steps > 32, "the four shared decode steps");
  assert.equal(inBatch.choices[0]!.message.content, alone, "the seed alone decides the text");
  assert.equal(alone, direct(question, 32, { temperature: 1.2, topP: 0.95, seed: 1234 }).text, "and it is in-process generation's with that seed");
  // n choices of a seeded request are seeded seed, seed + 1, … (as vLLM does): distinct, and reproducible.
  const n = await chat({ ...seeded, n: 2 });
  assert.equal(n.choices[0]!.message.content, alone);
  assert.equal(n.choices[1]!.message.content, direct(question, 32, { temperature: 1.2, topP: 0.95, seed: 1235 }).text);
});

test("vLLM's sampling extensions are honoured: top_k, min_p, repetition_penalty, min_tokens, ignore_eos", async () => {
  const greedy = direct(question, 40);
  assert.equal((await chat({ temperature: 1.5, top_k: 1 })).choices[0]!.message.content, greedy.text, "top_k 1 is greedy");
  assert.equal((await chat({ temperature: 1.5, min_p: 1 })).choices[0]!.message.content, greedy.text, "min_p 1 keeps the top token only");
  const penalised = await chat({ temperature: 0, repetition_penalty: 1.5 });
  assert.equal(penalised.choices[0]!.message.content, direct(question, 40, { repetitionPenalty: 1.5 }).text);
  assert.notEqual(penalised.choices[0]!.message.content, greedy.text);
  const ignore = await chat({ temperature: 0, max_tokens: greedy.tokens + 10, ignore_eos: true });
  assert.equal(ignore.usage!.completion_tokens, greedy.tokens + 10);
  assert.equal(ignore.choices[0]!.finish_reason, "length");
  const min = await chat({ temperature: 0, max_tokens: greedy.tokens + 10, min_tokens: greedy.tokens + 5 });
  assert.ok(min.usage!.completion_tokens >= greedy.tokens + 5, `min_tokens: ${min.usage!.completion_tokens} tokens`);
  await expectError(chat({ max_tokens: 4, min_tokens: 5 }), 400, /'min_tokens' \(5\) must not exceed/, "min_tokens");
});

test("every parameter it does not honour is refused by name; errors come in the OpenAI shape", async () => {
  for (const [param, value] of [
    ["logprobs", true], ["top_logprobs", 2], ["tools", [{ type: "function", function: { name: "f" } }]], ["response_format", { type: "json_object" }],
    ["logit_bias", { "1": 5 }], ["reasoning_effort", "low"], ["modalities", ["text"]], ["prediction", { type: "content", content: "x" }],
    ["audio", { voice: "alloy", format: "mp3" }], ["store", true], ["metadata", { a: "b" }], ["foo", 1],
  ] as const) {
    await expectError(chat({ [param]: value }), 400, new RegExp(`'${param}' is not supported by this server`), param);
  }
  for (const [param, value] of [["echo", true], ["suffix", "x"], ["best_of", 2], ["logprobs", 1]] as const) {
    await expectError(client.completions.create({ model: "tiny-math", prompt: "1 +", [param]: value } as OpenAI.CompletionCreateParamsNonStreaming), 400, new RegExp(`'${param}' is not supported`), param);
  }
  // Off is not a request for anything.
  assert.equal((await chat({ temperature: 0, logprobs: false, store: false, max_tokens: 4 })).choices.length, 1);

  await expectError(new OpenAI({ baseURL: server.url, apiKey: "wrong", maxRetries: 0 }).models.list(), 401, /API key/);
  await expectError(chat({ model: "gpt-4" }), 404, /model 'gpt-4' does not exist; this server serves 'tiny-math'/, "model");
  await expectError(chat({ temperature: 5 }), 400, /temperature/, "temperature");
  await expectError(chat({ top_k: -2 }), 400, /top_k/, "top_k");
  await expectError(chat({ messages: [] }), 400, /messages/, "messages");
  await expectError(chat({ max_tokens: 10 ** 6 }), 400, /maximum context length is \d+ tokens/, "max_tokens");
  const post = (body: string) => fetch(`${server.url}/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body });
  const big = await post(JSON.stringify({ model: "tiny-math", messages: [{ role: "user", content: "x".repeat(5000) }] }));
  assert.equal(big.status, 413);
  assert.match(((await big.json()) as { error: { message: string } }).error.message, /larger than this server's limit of 4096 bytes/);
  const bad = await post("{not json");
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /not valid JSON/);
});

test("completions take token-id prompts (the model folder's tokenizer ids); a prompt past the context names 'prompt'", async () => {
  const text = "Problem: 3 + 4 =";
  const fullIds = tokenizer.unmapped.encode(text, { addSpecialTokens: false });
  const byText = await client.completions.create({ model: "tiny-math", prompt: text, max_tokens: 8, temperature: 0 });
  const byIds = await client.completions.create({ model: "tiny-math", prompt: fullIds, max_tokens: 8, temperature: 0 });
  assert.equal(byIds.choices[0]!.text, byText.choices[0]!.text);
  assert.equal(byIds.usage!.prompt_tokens, byText.usage!.prompt_tokens);
  const many = await client.completions.create({ model: "tiny-math", prompt: [fullIds, tokenizer.unmapped.encode("Problem: 1 + 1 =", { addSpecialTokens: false })], max_tokens: 8, temperature: 0 });
  assert.equal(many.choices.length, 2);
  assert.equal(many.choices[0]!.text, byText.choices[0]!.text);
  await expectError(client.completions.create({ model: "tiny-math", prompt: [[1, 2], [10 ** 7]], max_tokens: 2 }), 400, /token id 10000000 is outside/, "prompt[1]");

  const limited = await startServer(new GenerationEngine(model, tokenizer, { maxBatch: 8, maxQueue: 8 }), { modelName: "tiny-math", port: 0, maxContext: 64 });
  try {
    const c = new OpenAI({ baseURL: limited.url, apiKey: "none", maxRetries: 0 });
    const long = "1 + 1 = 2. ".repeat(40);
    await expectError(c.completions.create({ model: "tiny-math", prompt: long }), 400, /maximum context length is 64 tokens; the prompt has \d+/, "prompt");
    await expectError(c.chat.completions.create({ model: "tiny-math", messages: [{ role: "user", content: long }] }), 400, /maximum context length is 64 tokens/, "messages");
    assert.equal(((await c.models.retrieve("tiny-math")) as unknown as { max_model_len: number }).max_model_len, 64);
  } finally {
    await limited.close();
  }
});

test("concurrent requests share decode steps (continuous batching); a full queue answers 429, streaming or not, before any stream starts", async () => {
  const before = { ...engine.stats };
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => chat({ messages: [{ role: "user", content: `What is ${i} + 5?` }], max_tokens: 24, temperature: 0 })),
  );
  const steps = engine.stats.steps - before.steps, rows = engine.stats.rowSteps - before.rowSteps;
  assert.ok(rows / steps > 5, `8 concurrent requests: ${(rows / steps).toFixed(2)} sequences per decode step`);
  for (const [i, a] of answers.entries()) assert.equal(a.choices[0]!.message.content, direct([{ role: "user", content: `What is ${i} + 5?` }], 24).text, "batching does not change a greedy answer");

  const small = new GenerationEngine(model, tokenizer, { maxBatch: 1, maxQueue: 1 });
  const busy = await startServer(small, { modelName: "tiny-math", port: 0 });
  try {
    const c = new OpenAI({ baseURL: busy.url, apiKey: "none", maxRetries: 0 });
    const results = await Promise.allSettled(Array.from({ length: 4 }, async () => {
      const stream = await c.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 16, stream: true });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      return text;
    }));
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as ApiError);
    assert.ok(refused.length >= 1 && refused.every((e) => e.status === 429 && /queue is full/.test(e.message)), JSON.stringify(refused.map((e) => [e.status, e.message])));
    assert.ok(results.some((r) => r.status === "fulfilled"));
  } finally {
    await busy.close();
  }
});

test("a client that goes away cancels its generation at the next token step; the next request does not wait for it", async () => {
  for (const streaming of [false, true]) {
    const before = { ...engine.stats };
    const abort = new AbortController();
    const long = { model: "tiny-math", messages: question, max_tokens: 4000, ignore_eos: true, temperature: 0 } as OpenAI.Chat.ChatCompletionCreateParams & { ignore_eos: boolean };
    let gone: Promise<unknown>;
    if (streaming) {
      const stream = await client.chat.completions.create({ ...long, stream: true } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
      gone = (async () => {
        for await (const _ of stream) break; // leaving the loop closes the connection
      })();
    } else {
      gone = client.chat.completions.create(long as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, { signal: abort.signal }).catch(() => undefined);
      while (engine.stats.tokens - before.tokens < 5) await new Promise((r) => setTimeout(r, 5));
      abort.abort();
    }
    await gone;
    const t0 = performance.now();
    const next = await chat({ temperature: 0, max_tokens: 8 });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(next.choices.length, 1);
    while (engine.active > 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(engine.stats.cancelled - before.cancelled, 1, "the abandoned request was cancelled");
    const generated = engine.stats.tokens - before.tokens;
    assert.ok(generated < 1000, `${streaming ? "streaming" : "plain"}: ${generated} tokens generated in all, not 4000 (the next request took ${seconds.toFixed(2)} s)`);
  }
});

test("a long prompt is prefilled in chunks between other requests' token steps: a short request sent meanwhile finishes first", async () => {
  const chunked = new GenerationEngine(model, tokenizer, { maxBatch: 8, maxQueue: 8, prefillChunk: 64, prefillSliceMs: 5 });
  const s = await startServer(chunked, { modelName: "tiny-math", port: 0 });
  const tensors = tf.memory().numTensors;
  try {
    const c = new OpenAI({ baseURL: s.url, apiKey: "none", maxRetries: 0 });
    const longText = Array.from({ length: 120 }, (_, i) => `${i} + ${i} = ${2 * i}.`).join(" ");
    const longIds = tokenizer.encodeChat([{ role: "user", content: longText }], { addGenerationPrompt: true });
    assert.ok(longIds.length > 1000, `${longIds.length} prompt tokens`);
    const order: string[] = [];
    const long = c.chat.completions.create({ model: "tiny-math", messages: [{ role: "user", content: longText }], max_tokens: 8, temperature: 0 }).then((r) => (order.push("long"), r));
    while (chunked.stats.prefillChunks < 2) await new Promise((r) => setTimeout(r, 2));
    const short = await c.chat.completions.create({ model: "tiny-math", messages: question, max_tokens: 8, temperature: 0 });
    order.push("short");
    const longAnswer = await long;
    assert.deepEqual(order, ["short", "long"]);
    assert.equal(short.choices[0]!.message.content, direct(question, 8).text);
    assert.equal(longAnswer.choices[0]!.message.content, direct([{ role: "user", content: longText }], 8).text, "chunked prefill gives unchunked generation's answer");
    assert.ok(chunked.stats.prefillChunks > 10, `${chunked.stats.prefillChunks} chunks`);
    assert.equal(tf.memory().numTensors, tensors, "the long request's KV cache is freed");
  } finally {
    await s.close();
  }
});

test("a different model served under the same name: the answer cache is refused, naming the difference; --fresh starts over", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-stale-"));
  const cacheFile = join(dir, "tuned.completions.jsonl");
  const settings = { batchSize: 1, maxNewTokens: 32, temperature: 0 };
  // Two servers of the same weights that say they are different models: only the fingerprint tells them apart.
  const serving = (fingerprint: string) => startServer(new GenerationEngine(model, tokenizer, { maxBatch: 8, maxQueue: 8 }), { modelName: "tuned", port: 0, fingerprint, backend: "test-backend" });
  const other = await serving("sha256:test-b");
  const first = await serving("sha256:test-a");
  try {
    const a = endpointGenerator("tuned", { baseUrl: first.url, model: "tuned", cacheFile, concurrency: 1 });
    await evaluate(a, problems.slice(0, 3), settings);
    assert.deepEqual([a.stats.requested, a.stats.cached], [3, 0]);
    const again = endpointGenerator("tuned", { baseUrl: first.url, model: "tuned", cacheFile, concurrency: 1 });
    await evaluate(again, problems.slice(0, 3), settings);
    assert.deepEqual([again.stats.requested, again.stats.cached], [0, 3]);
    assert.match(cacheReport("tuned", again.stats), /^tuned: 3 answers from the cache .*tuned\.completions\.jsonl, 0 requested from tuned at http.* \(fingerprint sha256:test-a\)$/);

    const stale = endpointGenerator("tuned", { baseUrl: other.url, model: "tuned", cacheFile, concurrency: 1 });
    await assert.rejects(evaluate(stale, problems.slice(0, 3), settings), /holds 3 answers from a different producer \(.*fingerprint "sha256:test-a" → "sha256:test-b".*\): they are not reused.*--fresh/);
    const settingsChanged = endpointGenerator("tuned", { baseUrl: first.url, model: "tuned", cacheFile, concurrency: 1 });
    await assert.rejects(evaluate(settingsChanged, problems.slice(0, 3), { ...settings, maxNewTokens: 16 }), /maxNewTokens 32 → 16/);

    const fresh = endpointGenerator("tuned", { baseUrl: other.url, model: "tuned", cacheFile, concurrency: 1, fresh: true });
    await evaluate(fresh, problems.slice(0, 3), settings);
    assert.deepEqual([fresh.stats.requested, fresh.stats.cached], [3, 0]);
    assert.ok(fresh.stats.replaced && existsSync(fresh.stats.replaced), "the earlier answers are kept aside");
    assert.equal(readdirSync(dir).length, 2);
  } finally {
    await other.close();
    await first.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("evaluate through the endpoint scores exactly as in-process evaluation (greedy)", async () => {
  const settings = { batchSize: 1, maxNewTokens: 64, temperature: 0 };
  const local = await evaluate(modelGenerator("local", model, tokenizer), problems, settings);
  const remote = await evaluate(endpointGenerator("remote", { baseUrl: server.url, model: "tiny-math", apiKey: KEY, concurrency: 1 }), problems, settings);
  assert.deepEqual(remote.samples.map((s) => s.prediction), local.samples.map((s) => s.prediction));
  assert.deepEqual(remote.samples.map((s) => s.correct), local.samples.map((s) => s.correct));
  assert.equal(remote.summary.accuracy, local.summary.accuracy);
});

/** `openr1 serve` as a child process on a free port; resolves with its URL once it listens. */
function serveChild(args: string[] = []): Promise<{ url: string; output: () => string; kill: (signal?: NodeJS.Signals) => Promise<number | null>; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "serve", "tiny-math", "--port", "0", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let out = "";
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+\/v1)/.exec(out);
      if (m) resolve({ url: m[1]!, output: () => out, exited, kill: (signal = "SIGKILL") => (child.kill(signal), exited) });
    });
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    void exited.then(() => reject(new Error(`serve exited: ${out}`)));
  });
}

test("openr1 serve says its backend, context and fingerprint; SIGTERM answers every waiting request 503 and exits soon after the running one", { timeout: 120_000 }, async (t) => {
  const child = await serveChild(["--max-batch", "1"]);
  try {
    assert.match(child.output(), /Backend: @tensorflow\/tfjs-backend-\w+/);
    assert.match(child.output(), /Max context: \d+ tokens \(/);
    assert.match(child.output(), /Model fingerprint: sha256:[0-9a-f]{16}/);
    const c = new OpenAI({ baseURL: child.url, apiKey: "none", maxRetries: 0 });
    let runningEnded = 0;
    const running = chat({ max_tokens: 400, ignore_eos: true, temperature: 0 }, c).then((r) => ((runningEnded = performance.now()), r));
    const waiting = [0, 1, 2].map(() => chat({ max_tokens: 8 }, c).then(() => undefined, (e: ApiError) => e));
    const health = () => fetch(child.url.replace(/\/v1$/, "/health")).then((r) => r.json() as Promise<{ waiting: number }>);
    while ((await health()).waiting < 3) await new Promise((r) => setTimeout(r, 10));
    const exit = child.kill("SIGTERM").then((code) => ({ code, at: performance.now() }));
    const refused = await Promise.all(waiting);
    for (const e of refused) {
      assert.equal(e?.status, 503);
      assert.match(e!.message, /shutting down/);
    }
    const r = await running;
    assert.equal(r.usage!.completion_tokens, 400, "the running request completes");
    const { code, at } = await exit;
    assert.equal(code, 0);
    // Its own time is a benchmark's business (bench/serve.ts); this only catches a stop that hangs on.
    t.diagnostic(`exited ${((at - runningEnded) / 1000).toFixed(2)} s after the running request's answer`);
    assert.ok(at - runningEnded < 5000, `exited ${((at - runningEnded) / 1000).toFixed(2)} s after the running request's answer`);
  } finally {
    await child.kill();
  }
});

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
    assert.equal(readFileSync(cacheFile, "utf8").trim().split("\n").length, 1 + 3, "the producer line and 3 answers");

    // Restarted on another port: the same weights' fingerprint, so the answers stand.
    const second = await serveChild();
    try {
      const gen2 = endpointGenerator("tuned", { baseUrl: second.url, model: "tiny-math", concurrency: 1, cacheFile });
      const result = await evaluate(gen2, problems, settings);
      assert.equal(result.samples.length, problems.length);
      assert.deepEqual([gen2.stats.cached, gen2.stats.requested], [3, problems.length - 3], "no finished problem is asked for again");
      const straight = await evaluate(modelGenerator("local", model, tokenizer), problems, settings);
      assert.deepEqual(result.samples.map((x) => x.prediction), straight.samples.map((x) => x.prediction));
    } finally {
      await second.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
