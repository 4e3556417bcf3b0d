import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { NEW_TOKEN_DEFAULTS } from "../generation-defaults.js";
import { resolveServerSettings } from "./settings.js";
import type { ChatTurn } from "../tokenizer/index.js";
import { EngineClosedError, GenerationEngine, JobCancelledError, QueueFullError, type GenerationJob, type JobResult } from "./engine.js";
import { ApiError, chatRequest, completionRequest, messageText, parseRequest, stopList, type ChatRequest, type CompletionRequest } from "./protocol.js";

export interface ServeOptions {
  /** The name clients pass as `model` (and `/v1/models` lists). */
  modelName: string;
  /** Default 127.0.0.1: other interfaces only when asked for. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** `max_tokens` of a chat request that gives none (default NEW_TOKEN_DEFAULTS.serveChat; completions: OpenAI's 16). */
  maxTokens?: number;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Prompt plus new tokens a request may reach (default, and at most, the model's max_position_embeddings). */
  maxContext?: number | null;
  /** When set, requests need `Authorization: Bearer <apiKey>` (not /health). */
  apiKey?: string;
  /** What the model is, for clients to tell models apart: e.g. a hash of its weights and adapter (see modelFingerprint). */
  fingerprint?: string;
  /** Where the weights came from (a folder), and the base model's when they are an adapter: `root` and `parent`, as vLLM reports them. */
  root?: string;
  parent?: string;
  /** The compute backend, reported by /health and /v1/models. */
  backend?: string;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8000/v1 — what an OpenAI client takes as its base URL. */
  url: string;
  server: Server;
  /**
   * Stops: waiting requests (and any arriving meanwhile) get 503, the running ones finish and are answered, then the
   * listener and every connection close.
   */
  close(): Promise<void>;
}

const id = (prefix: string) => `${prefix}-${randomBytes(12).toString("hex")}`;

function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      // Past the limit the rest is read and dropped, so that the client gets the 413 rather than a reset.
      if (size > limit) reject(new ApiError(413, `The request body is larger than this server's limit of ${limit} bytes`, "invalid_request_error", null, "request_too_large"));
      else chunks.push(c);
    });
    req.on("end", () => {
      if (size > limit) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (e) {
        reject(new ApiError(400, `The request body is not valid JSON (${(e as Error).message})`));
      }
    });
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

function sseStart(res: ServerResponse): (data: unknown) => void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  return (data) => {
    if (!res.destroyed) res.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
  };
}

/** The fields of a request that become a job's sampling (all but the budget and the seed). */
function samplingOf(body: ChatRequest | CompletionRequest): Omit<GenerationJob["sampling"], "maxNewTokens" | "seed"> {
  return {
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? undefined,
    topK: body.top_k && body.top_k > 0 ? body.top_k : undefined,
    minP: body.min_p ?? undefined,
    repetitionPenalty: body.repetition_penalty ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    minTokens: body.min_tokens ?? undefined,
    ignoreEos: body.ignore_eos ?? undefined,
    stopStrings: stopList(body.stop),
  };
}

/**
 * An OpenAI-compatible HTTP API over a GenerationEngine: `GET /v1/models` (and `/v1/models/{id}`), `POST
 * /v1/chat/completions` (the model's chat template applied), `POST /v1/completions` (text or token ids), greedy or
 * sampled (each request its own generator: seeded ones reproducible, the others fresh), `max_tokens`, `stop`, `n`,
 * `seed`, vLLM's `top_k`, `min_p`, `repetition_penalty`, `min_tokens`, `ignore_eos`, streaming as server-sent events.
 * Errors come in the API's error shape, naming the field; a client that goes away cancels its generation.
 */
export async function startServer(engine: GenerationEngine, options: ServeOptions): Promise<RunningServer> {
  const settings = resolveServerSettings({ host: options.host, port: options.port, maxTokens: options.maxTokens, maxContext: options.maxContext, maxBodyBytes: options.maxBodyBytes });
  const created = Math.floor(Date.now() / 1000);
  const maxBody = settings.maxBodyBytes;
  const modelLimit = engine.model.config.maxPositionEmbeddings;
  const contextLength = Math.min(settings.maxContext ?? modelLimit, modelLimit);
  const tok = engine.tokenizer;
  const fullVocab = tok.vocabMap ? tok.unmapped.vocabSize : tok.vocabSize;
  const inflight = new Set<Promise<void>>();
  let stopping = false;

  const modelCard = () => ({
    id: options.modelName, object: "model", created, owned_by: "openr1", root: options.root ?? null, parent: options.parent ?? null,
    max_model_len: contextLength, fingerprint: options.fingerprint ?? null, backend: options.backend ?? null,
  });
  const checkModel = (model: string) => {
    if (model !== options.modelName) {
      throw new ApiError(404, `The model '${model}' does not exist; this server serves '${options.modelName}'`, "invalid_request_error", "model", "model_not_found");
    }
  };
  /** The new-token budget, or the 400 that says which side of the context limit was crossed. */
  const budget = (promptTokens: number, requested: number | null | undefined, fallback: number, promptParam: string, param: string) => {
    if (promptTokens >= contextLength) {
      throw new ApiError(400, `This server's maximum context length is ${contextLength} tokens; the prompt has ${promptTokens}, leaving no room for a completion`,
        "invalid_request_error", promptParam, "context_length_exceeded");
    }
    const maxTokens = requested ?? Math.min(fallback, contextLength - promptTokens);
    if (promptTokens + maxTokens > contextLength) {
      throw new ApiError(400, `This server's maximum context length is ${contextLength} tokens; the request has ${promptTokens} prompt tokens and asks for ${maxTokens} more`,
        "invalid_request_error", param, "context_length_exceeded");
    }
    return maxTokens;
  };
  const checkMinTokens = (body: ChatRequest | CompletionRequest, maxTokens: number) => {
    if ((body.min_tokens ?? 0) > maxTokens) {
      throw new ApiError(400, `'min_tokens' (${body.min_tokens}) must not exceed the completion's budget of ${maxTokens} tokens`, "invalid_request_error", "min_tokens", "invalid_value");
    }
  };

  /**
   * Submits `n` jobs per prompt (choice k seeded seed + k, as vLLM does), all or none: a full queue or a stopping
   * server throws before anything is sent, so a streaming client gets the 429 / 503 status. The jobs are cancelled
   * when the client goes away.
   */
  async function run(
    res: ServerResponse,
    body: ChatRequest | CompletionRequest,
    prompts: number[][],
    maxTokens: number,
    chunk: (index: number, delta: string | null, finish: string | null) => unknown,
  ): Promise<{ results: JobResult[]; send?: (data: unknown) => void } | undefined> {
    const n = body.n ?? 1;
    const abort = new AbortController();
    const stream = body.stream === true;
    let send: ((data: unknown) => void) | undefined;
    const jobs: GenerationJob[] = prompts.flatMap((promptIds, p) => Array.from({ length: n }, (_, k) => {
      const index = p * n + k;
      return {
        promptIds,
        sampling: { ...samplingOf(body), maxNewTokens: maxTokens, seed: body.seed == null ? undefined : body.seed + k },
        onText: stream ? (delta: string) => send?.(chunk(index, delta, null)) : undefined,
        signal: abort.signal,
      };
    }));
    const pending = engine.submit(jobs);
    res.on("close", () => !res.writableFinished && abort.abort());
    if (stream) send = sseStart(res);
    try {
      const results = await Promise.all(pending.map((p, index) => p.then((r) => (send?.(chunk(index, null, r.finishReason)), r))));
      return { results, send };
    } catch (e) {
      abort.abort();
      if (e instanceof JobCancelledError) return undefined;
      throw e;
    }
  }

  const usage = (promptTokens: number, results: JobResult[]) => {
    const completion = results.reduce((s, r) => s + r.completionTokens, 0);
    return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
  };
  const fingerprint = options.fingerprint ?? null;

  async function chat(body: ChatRequest, res: ServerResponse): Promise<void> {
    checkModel(body.model);
    const turns: ChatTurn[] = body.messages.map((m) => ({ role: m.role === "developer" ? "system" : m.role, content: messageText(m.content) }));
    const ids = tok.encodeChat(turns, { addGenerationPrompt: true });
    const maxTokens = budget(ids.length, body.max_completion_tokens ?? body.max_tokens, settings.maxTokens, "messages",
      body.max_completion_tokens ? "max_completion_tokens" : "max_tokens");
    checkMinTokens(body, maxTokens);
    const completionId = id("chatcmpl");
    const head = { id: completionId, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: options.modelName, system_fingerprint: fingerprint };
    const started = new Set<number>();
    const out = await run(res, body, [ids], maxTokens, (index, delta, finish) => {
      const first = !started.has(index);
      started.add(index);
      return { ...head, choices: [{ index, delta: { ...(first ? { role: "assistant" } : {}), ...(delta !== null ? { content: delta } : {}) }, logprobs: null, finish_reason: finish }] };
    });
    if (!out) return;
    const u = usage(ids.length, out.results);
    if (out.send) {
      if (body.stream_options?.include_usage) out.send({ ...head, choices: [], usage: u });
      out.send("[DONE]");
      res.end();
      return;
    }
    sendJson(res, 200, {
      id: completionId, object: "chat.completion", created: head.created, model: options.modelName, system_fingerprint: fingerprint,
      choices: out.results.map((r, index) => ({ index, message: { role: "assistant", content: r.text }, logprobs: null, finish_reason: r.finishReason })),
      usage: u,
    });
  }

  /** Token ids as the model folder's tokenizer gives them (a vocabulary-mapped model's full ids), in model ids. */
  function promptIds(prompt: CompletionRequest["prompt"]): number[][] {
    if (typeof prompt === "string") return [tok.encode(prompt, { addSpecialTokens: false })];
    const items: unknown[] = prompt;
    if (typeof items[0] === "string") return (prompt as string[]).map((p) => tok.encode(p, { addSpecialTokens: false }));
    const lists = typeof items[0] === "number" ? [prompt as number[]] : (prompt as number[][]);
    lists.forEach((ids, i) => {
      const bad = ids.find((t) => t >= fullVocab);
      if (bad !== undefined) {
        throw new ApiError(400, `Invalid value for 'prompt': token id ${bad} is outside the tokenizer's vocabulary [0, ${fullVocab})`, "invalid_request_error",
          Array.isArray(items[0]) ? `prompt[${i}]` : "prompt", "invalid_value");
      }
    });
    return tok.vocabMap ? lists.map((ids) => tok.vocabMap!.toModel(ids)) : lists;
  }

  async function complete(body: CompletionRequest, res: ServerResponse): Promise<void> {
    checkModel(body.model);
    const ids = promptIds(body.prompt);
    if (ids.some((x) => x.length === 0)) throw new ApiError(400, "'prompt' must not be empty", "invalid_request_error", "prompt");
    const longest = Math.max(...ids.map((x) => x.length));
    const maxTokens = budget(longest, body.max_tokens, NEW_TOKEN_DEFAULTS.serveCompletions, "prompt", "max_tokens");
    checkMinTokens(body, maxTokens);
    const head = { id: id("cmpl"), object: "text_completion", created: Math.floor(Date.now() / 1000), model: options.modelName, system_fingerprint: fingerprint };
    const out = await run(res, body, ids, maxTokens, (index, delta, finish) => ({ ...head, choices: [{ index, text: delta ?? "", logprobs: null, finish_reason: finish }] }));
    if (!out) return;
    // Each prompt counts once, whatever n is (as OpenAI and vLLM count).
    const u = usage(ids.reduce((s, x) => s + x.length, 0), out.results);
    if (out.send) {
      if (body.stream_options?.include_usage) out.send({ ...head, choices: [], usage: u });
      out.send("[DONE]");
      res.end();
      return;
    }
    sendJson(res, 200, { ...head, choices: out.results.map((r, index) => ({ index, text: r.text, logprobs: null, finish_reason: r.finishReason })), usage: u });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "");
    if (stopping) res.setHeader("connection", "close");
    // Open without the key, as vLLM's: a load balancer or supervisor polls it.
    if (req.method === "GET" && path === "/health") {
      return sendJson(res, stopping ? 503 : 200, {
        status: stopping ? "stopping" : "ok", model: options.modelName, backend: options.backend ?? null,
        waiting: engine.waiting, active: engine.active, mean_batch: Number(engine.meanBatch.toFixed(2)), ...engine.stats,
      });
    }
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new ApiError(401, "Incorrect or missing API key: send Authorization: Bearer <key>", "invalid_request_error", null, "invalid_api_key");
    }
    if (req.method === "GET" && path === "/v1/models") return sendJson(res, 200, { object: "list", data: [modelCard()] });
    if (req.method === "GET" && path.startsWith("/v1/models/")) {
      checkModel(decodeURIComponent(path.slice("/v1/models/".length)));
      return sendJson(res, 200, modelCard());
    }
    const routes: Record<string, (body: unknown) => Promise<void>> = {
      "/v1/chat/completions": (body) => chat(parseRequest(chatRequest, body), res),
      "/v1/completions": (body) => complete(parseRequest(completionRequest, body), res),
    };
    const route = routes[path];
    if (!route) throw new ApiError(404, `Unknown endpoint ${req.method} ${path}`, "invalid_request_error", null, "not_found");
    if (req.method !== "POST") throw new ApiError(405, `${path} takes POST`, "invalid_request_error", null, "method_not_allowed");
    await route(await readBody(req, maxBody));
  }

  const server = createServer((req, res) => {
    const done: Promise<void> = handle(req, res).catch((e: Error) => {
      const err =
        e instanceof ApiError ? e
        : e instanceof QueueFullError ? new ApiError(429, e.message, "rate_limit_error", null, "queue_full")
        : e instanceof EngineClosedError ? new ApiError(503, e.message, "server_error", null, "shutting_down")
        : new ApiError(500, `Generation failed: ${e.message}`, "server_error");
      if (res.headersSent) {
        // A stream already started: end it with the error as its last event.
        if (!res.destroyed) res.end(`data: ${JSON.stringify(err.body())}\n\n`);
        return;
      }
      sendJson(res, err.status, err.body(), err.status === 429 ? { "retry-after": "1" } : {});
    }).finally(() => inflight.delete(done));
    inflight.add(done);
  });
  const host = settings.host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    server,
    close: async () => {
      stopping = true;
      engine.close();
      // Still listening: a request that arrives now gets its 503 instead of a refused connection.
      while (inflight.size) await Promise.allSettled([...inflight]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
