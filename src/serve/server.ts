import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatTurn } from "../tokenizer/index.js";
import { EngineClosedError, GenerationEngine, QueueFullError, type GenerationJob, type JobResult } from "./engine.js";
import { ApiError, chatRequest, completionRequest, messageText, parseRequest, stopList, type ChatRequest, type CompletionRequest } from "./protocol.js";

export interface ServeOptions {
  /** The name clients pass as `model` (and `/v1/models` lists). */
  modelName: string;
  /** Default 127.0.0.1: other interfaces only when asked for. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** When set, requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** `max_tokens` when a request gives none (default 512; completions default to OpenAI's 16). */
  defaultMaxTokens?: number;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8000/v1 — what an OpenAI client takes as its base URL. */
  url: string;
  server: Server;
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
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

function sseStart(res: ServerResponse): (data: unknown) => void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  return (data) => {
    if (!res.destroyed) res.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
  };
}

/**
 * An OpenAI-compatible HTTP API over a GenerationEngine: `GET /v1/models`, `POST /v1/chat/completions` (the
 * model's chat template applied), `POST /v1/completions` (raw text), greedy or sampled, `max_tokens`, `stop`,
 * `n`, `seed`, streaming as server-sent events. Errors come in the API's error shape, naming the field.
 */
export async function startServer(engine: GenerationEngine, options: ServeOptions): Promise<RunningServer> {
  const created = Math.floor(Date.now() / 1000);
  const maxBody = options.maxBodyBytes ?? 2 ** 20;
  const contextLength = engine.model.config.maxPositionEmbeddings;
  const tok = engine.tokenizer;

  const checkModel = (model: string) => {
    if (model !== options.modelName) {
      throw new ApiError(404, `The model '${model}' does not exist; this server serves '${options.modelName}'`, "invalid_request_error", "model", "model_not_found");
    }
  };
  const budget = (promptTokens: number, requested: number | null | undefined, fallback: number, param: string) => {
    const maxTokens = requested ?? Math.max(1, Math.min(fallback, contextLength - promptTokens));
    if (promptTokens + maxTokens > contextLength) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${contextLength} tokens; the request has ${promptTokens} prompt tokens and asks for ${maxTokens} more`,
        "invalid_request_error",
        requested ? param : "messages",
        "context_length_exceeded",
      );
    }
    return maxTokens;
  };

  /** Runs `n` jobs for one prompt; streaming sends each piece of text as a chunk built by `chunk`. */
  async function run(
    res: ServerResponse,
    stream: boolean,
    promptIds: number[][],
    n: number,
    base: Omit<GenerationJob, "promptIds" | "onText">,
    chunk: (index: number, delta: string | null, finish: string | null) => unknown,
  ): Promise<{ results: JobResult[]; send?: (data: unknown) => void }> {
    const send = stream ? sseStart(res) : undefined;
    const jobs: Promise<JobResult>[] = [];
    promptIds.forEach((ids, p) => {
      for (let k = 0; k < n; k++) {
        const index = p * n + k;
        jobs.push(engine.submit({ ...base, promptIds: ids, onText: send ? (delta) => send(chunk(index, delta, null)) : undefined }));
      }
    });
    const results = await Promise.all(jobs);
    results.forEach((r, index) => send?.(chunk(index, null, r.finishReason)));
    return { results, send };
  }

  const usage = (promptTokens: number, results: JobResult[]) => {
    const completion = results.reduce((s, r) => s + r.completionTokens, 0);
    return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
  };

  async function chat(body: ChatRequest, res: ServerResponse): Promise<void> {
    checkModel(body.model);
    const turns: ChatTurn[] = body.messages.map((m) => ({ role: m.role === "developer" ? "system" : m.role, content: messageText(m.content) }));
    const ids = tok.encodeChat(turns, { addGenerationPrompt: true });
    const maxTokens = budget(ids.length, body.max_completion_tokens ?? body.max_tokens, options.defaultMaxTokens ?? 512, body.max_completion_tokens ? "max_completion_tokens" : "max_tokens");
    const n = body.n ?? 1;
    const completionId = id("chatcmpl");
    const head = { id: completionId, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: options.modelName };
    const started = new Set<number>();
    const { results, send } = await run(res, body.stream === true, [ids], n, {
      maxTokens, temperature: body.temperature ?? 1, topP: body.top_p ?? 1, seed: body.seed ?? undefined, stop: stopList(body.stop),
    }, (index, delta, finish) => {
      const first = !started.has(index);
      started.add(index);
      return { ...head, choices: [{ index, delta: { ...(first ? { role: "assistant" } : {}), ...(delta !== null ? { content: delta } : {}) }, logprobs: null, finish_reason: finish }] };
    });
    const u = usage(ids.length, results);
    if (send) {
      if (body.stream_options?.include_usage) send({ ...head, choices: [], usage: u });
      send("[DONE]");
      res.end();
      return;
    }
    sendJson(res, 200, {
      id: completionId, object: "chat.completion", created: head.created, model: options.modelName,
      choices: results.map((r, index) => ({ index, message: { role: "assistant", content: r.text }, logprobs: null, finish_reason: r.finishReason })),
      usage: u,
    });
  }

  async function complete(body: CompletionRequest, res: ServerResponse): Promise<void> {
    checkModel(body.model);
    const prompts = typeof body.prompt === "string" ? [body.prompt] : body.prompt;
    const ids = prompts.map((p) => tok.encode(p, { addSpecialTokens: false }));
    if (ids.some((x) => x.length === 0)) throw new ApiError(400, "'prompt' must not be empty", "invalid_request_error", "prompt");
    const longest = Math.max(...ids.map((x) => x.length));
    const maxTokens = budget(longest, body.max_tokens, 16, "max_tokens");
    const n = body.n ?? 1;
    const head = { id: id("cmpl"), object: "text_completion", created: Math.floor(Date.now() / 1000), model: options.modelName };
    const { results, send } = await run(res, body.stream === true, ids, n, {
      maxTokens, temperature: body.temperature ?? 1, topP: body.top_p ?? 1, seed: body.seed ?? undefined, stop: stopList(body.stop),
    }, (index, delta, finish) => ({ ...head, choices: [{ index, text: delta ?? "", logprobs: null, finish_reason: finish }] }));
    const u = usage(ids.reduce((s, x) => s + x.length * n, 0), results);
    if (send) {
      if (body.stream_options?.include_usage) send({ ...head, choices: [], usage: u });
      send("[DONE]");
      res.end();
      return;
    }
    sendJson(res, 200, { ...head, choices: results.map((r, index) => ({ index, text: r.text, logprobs: null, finish_reason: r.finishReason })), usage: u });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "");
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new ApiError(401, "Incorrect or missing API key: send Authorization: Bearer <key>", "invalid_request_error", null, "invalid_api_key");
    }
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { status: "ok", waiting: engine.waiting, ...engine.stats });
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, { object: "list", data: [{ id: options.modelName, object: "model", created, owned_by: "openr1" }] });
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
    handle(req, res).catch((e: Error) => {
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
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8000, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        engine.close();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
