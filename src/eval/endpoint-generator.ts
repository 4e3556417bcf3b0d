import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import OpenAI from "openai";
import { environment } from "../environment.js";
import { OPEN_R1_SYSTEM_PROMPT } from "../data/prompt.js";
import type { EvalSamplingOptions, Generation, Generator } from "./run.js";

export interface EndpointOptions {
  /** The server's OpenAI base URL, e.g. http://127.0.0.1:8000/v1 (vLLM, llama.cpp, `openr1 serve`). */
  baseUrl: string;
  /** The served model's name, as the server's /v1/models lists it. */
  model: string;
  /** Bearer token, if the server wants one (default: $OPENAI_API_KEY, else none). */
  apiKey?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Time limit of one request (default 10 min: long reasoning traces). */
  timeoutMs?: number;
  /** Retries after 429, 5xx, time-outs and refused connections, with backoff (default 5). */
  maxRetries?: number;
  /** The system turn before each problem: by default the one training used (as in-process evaluation); null for none. */
  systemPrompt?: string | null;
  /**
   * Completions received are appended here and reused: a crash or a dead server loses none of them. The file's first
   * line records what produced them (see AnswerProducer); answers from anything else are never reused.
   */
  cacheFile?: string;
  /** A cache file made by a different producer is moved aside (to `<file>.replaced-<time>`) and filled anew, not refused. */
  fresh?: boolean;
}

/** What produced cached answers: the server, the model as it describes it, and the settings they were asked with. */
export interface AnswerProducer {
  endpoint: string;
  model: string;
  /** The server's hash of the weights (openr1 serve's `fingerprint`), when it reports one. */
  fingerprint: string | null;
  /** The compute backend the server reports (openr1 serve). */
  backend: string | null;
  /** Where the weights came from, and the base model of an adapter (vLLM's and openr1 serve's `root` / `parent`). */
  root: string | null;
  parent: string | null;
  systemPrompt: string | null;
  maxNewTokens: number;
  temperature: number;
  topP: number;
}

export interface EndpointStats {
  /** Completions asked of the server, and taken from the cache file. */
  requested: number;
  cached: number;
  cacheFile?: string;
  /** What the cache's answers came from (once known). */
  producer?: AnswerProducer;
  /** The earlier cache file moved aside by `fresh`, if any. */
  replaced?: string;
}

interface CachedCompletion extends Generation {
  key: string;
}

/** The ways two producers differ, as "field old → new"; empty when answers of one stand for the other's. */
export function producerDifferences(before: AnswerProducer, now: AnswerProducer): string[] {
  // The same weights hash on the same backend: another address or folder serves the same answers.
  const sameWeights = before.fingerprint !== null && before.fingerprint === now.fingerprint;
  const fields: (keyof AnswerProducer)[] = ["model", "fingerprint", "backend", "parent", "systemPrompt", "maxNewTokens", "temperature", "topP"];
  if (!sameWeights) fields.unshift("endpoint", "root");
  const show = (v: unknown) => (v === null || v === undefined ? "none" : typeof v === "string" && v.length > 60 ? JSON.stringify(`${v.slice(0, 57)}...`) : JSON.stringify(v));
  return fields.filter((f) => before[f] !== now[f]).map((f) => `${f} ${show(before[f])} → ${show(now[f])}`);
}

/**
 * A Generator over any OpenAI-compatible chat endpoint: each prompt is the user turn after the training system
 * prompt (the messages in-process evaluation templates itself), requests run `concurrency` at a time through the
 * official client (its retries and backoff), and every completion is saved to `cacheFile` as it arrives, under a
 * first line that says what produced them: the endpoint, the model's name and the identity the server reports for it
 * (GET /v1/models/{model}: openr1 serve's weight fingerprint and backend, vLLM's root and parent), and the sampling
 * settings. A cache made by anything else is refused, naming the difference (or, with `fresh`, moved aside).
 */
export function endpointGenerator(name: string, options: EndpointOptions): Generator & { stats: EndpointStats } {
  const client = new OpenAI({
    baseURL: options.baseUrl,
    apiKey: options.apiKey ?? environment().endpointApiKey ?? "none",
    maxRetries: options.maxRetries ?? 5,
    timeout: options.timeoutMs ?? 600_000,
  });
  const system = options.systemPrompt === undefined ? OPEN_R1_SYSTEM_PROMPT : options.systemPrompt;
  const cache = new Map<string, Generation>();
  const stats: EndpointStats = { requested: 0, cached: 0, cacheFile: options.cacheFile };
  let card: Promise<Pick<AnswerProducer, "fingerprint" | "backend" | "root" | "parent">> | undefined;

  const messages = (prompt: string) => [...(system === null ? [] : [{ role: "system" as const, content: system }]), { role: "user" as const, content: prompt }];
  const keyOf = (prompt: string, o: EvalSamplingOptions) =>
    createHash("sha256").update(JSON.stringify([options.model, messages(prompt), o.maxNewTokens, o.temperature, o.topP, o.seed])).digest("hex");

  /** The model's card as the server describes it: /v1/models/{id}, else its entry in /v1/models, else nothing. */
  async function describe(): Promise<Pick<AnswerProducer, "fingerprint" | "backend" | "root" | "parent">> {
    let m: Record<string, unknown> | undefined;
    try {
      m = (await client.models.retrieve(options.model)) as unknown as Record<string, unknown>;
    } catch {
      try {
        for await (const entry of client.models.list()) if (entry.id === options.model) m = entry as unknown as Record<string, unknown>;
      } catch (e) {
        throw new Error(`${options.baseUrl}: could not list the served models (${(e as Error).message})`);
      }
    }
    const str = (v: unknown) => (typeof v === "string" ? v : null);
    return { fingerprint: str(m?.fingerprint), backend: str(m?.backend), root: str(m?.root), parent: str(m?.parent) };
  }

  /** What is producing this call's answers; the cache is checked against it (once per settings). */
  async function producer(o: EvalSamplingOptions): Promise<AnswerProducer> {
    const now: AnswerProducer = {
      endpoint: options.baseUrl.replace(/\/+$/, ""), model: options.model, ...(await (card ??= describe())), systemPrompt: system,
      maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP,
    };
    if (stats.producer) {
      const diff = producerDifferences(stats.producer, now);
      if (diff.length) throw new Error(`endpoint generator ${name}: the settings changed within one evaluation (${diff.join("; ")})`);
      return now;
    }
    stats.producer = now;
    if (options.cacheFile) openCache(options.cacheFile, now);
    return now;
  }

  function openCache(file: string, now: AnswerProducer): void {
    const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "") : [];
    if (lines.length) {
      let header: { producer?: AnswerProducer } = {};
      try {
        header = JSON.parse(lines[0]!) as { producer?: AnswerProducer };
      } catch {
        // unreadable: no header
      }
      const diff = header.producer ? producerDifferences(header.producer, now) : ["it does not record what produced its answers"];
      if (diff.length === 0) {
        for (const line of lines.slice(1)) {
          try {
            const { key, ...gen } = JSON.parse(line) as CachedCompletion;
            cache.set(key, gen);
          } catch {
            // a line cut short by a crash: that completion is asked for again
          }
        }
        return;
      }
      if (!options.fresh) {
        throw new Error(`${file} holds ${lines.length - 1} answers from a different producer (${diff.join("; ")}): they are not reused. ` +
          "Evaluate into another --out, or pass --fresh to move that file aside and start over.");
      }
      stats.replaced = `${file}.replaced-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      renameSync(file, stats.replaced);
    }
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, `${JSON.stringify({ producer: now })}\n`);
  }

  async function complete(prompt: string, o: EvalSamplingOptions): Promise<Generation> {
    const key = keyOf(prompt, o);
    const hit = cache.get(key);
    if (hit) {
      stats.cached++;
      return hit;
    }
    let res: OpenAI.Chat.Completions.ChatCompletion;
    try {
      res = await client.chat.completions.create({
        model: options.model,
        messages: messages(prompt),
        max_tokens: o.maxNewTokens,
        temperature: o.temperature,
        top_p: o.topP,
        seed: o.seed,
      });
    } catch (e) {
      const kept = options.cacheFile ? `; the ${cache.size} completions received so far are kept in ${options.cacheFile}: run the same command again to go on` : "";
      throw new Error(`${options.baseUrl}: the chat completion failed after ${options.maxRetries ?? 5} retries (${(e as Error).message})${kept}`);
    }
    stats.requested++;
    const choice = res.choices[0];
    if (!choice) throw new Error(`${options.baseUrl}: an answer without choices`);
    const gen: Generation = {
      text: choice.message.content ?? "",
      numTokens: res.usage?.completion_tokens ?? 0,
      finishReason: choice.finish_reason === "length" ? "length" : "eos",
    };
    cache.set(key, gen);
    if (options.cacheFile) appendFileSync(options.cacheFile, `${JSON.stringify({ key, ...gen })}\n`);
    return gen;
  }

  return {
    name,
    stats,
    async generate(prompts: string[], o: EvalSamplingOptions): Promise<Generation[]> {
      await producer(o);
      const out: Generation[] = new Array(prompts.length);
      let next = 0;
      const worker = async () => {
        while (next < prompts.length) {
          const i = next++;
          out[i] = await complete(prompts[i]!, o);
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, prompts.length) }, worker));
      return out;
    },
  };
}

/** One line on where an endpoint evaluation's answers came from. */
export function cacheReport(label: string, stats: EndpointStats): string {
  const p = stats.producer;
  const from = p ? `${p.model} at ${p.endpoint}${p.fingerprint ? ` (fingerprint ${p.fingerprint})` : ""}` : "the endpoint";
  const cached = stats.cacheFile ? `${stats.cached} answers from the cache ${stats.cacheFile}` : "no answer cache";
  const replaced = stats.replaced ? `; the earlier cache, made by something else, was moved to ${stats.replaced}` : "";
  return `${label}: ${cached}, ${stats.requested} requested from ${from}${replaced}`;
}
