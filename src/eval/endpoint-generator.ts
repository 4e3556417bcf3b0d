import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import OpenAI from "openai";
import { OPEN_R1_SYSTEM_PROMPT } from "../train/format.js";
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
  /** Completions received are appended here and reused: a crash or a dead server loses none of them. */
  cacheFile?: string;
}

interface CachedCompletion extends Generation {
  key: string;
}

/**
 * A Generator over any OpenAI-compatible chat endpoint: each prompt is the user turn after the training system
 * prompt (the messages in-process evaluation templates itself), requests run `concurrency` at a time through the
 * official client (its retries and backoff), and every completion is saved to `cacheFile` as it arrives.
 */
export function endpointGenerator(name: string, options: EndpointOptions): Generator & { stats: { requested: number; cached: number } } {
  const client = new OpenAI({
    baseURL: options.baseUrl,
    apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? "none",
    maxRetries: options.maxRetries ?? 5,
    timeout: options.timeoutMs ?? 600_000,
  });
  const system = options.systemPrompt === undefined ? OPEN_R1_SYSTEM_PROMPT : options.systemPrompt;
  const cache = new Map<string, Generation>();
  if (options.cacheFile && existsSync(options.cacheFile)) {
    for (const line of readFileSync(options.cacheFile, "utf8").split("\n")) {
      try {
        const { key, ...gen } = JSON.parse(line) as CachedCompletion;
        cache.set(key, gen);
      } catch {
        // a line cut short by a crash: that completion is asked for again
      }
    }
  }
  const stats = { requested: 0, cached: 0 };

  const messages = (prompt: string) => [...(system === null ? [] : [{ role: "system" as const, content: system }]), { role: "user" as const, content: prompt }];
  // The request, not the server's address: a server restarted elsewhere serves the same completions.
  const keyOf = (prompt: string, o: EvalSamplingOptions) =>
    createHash("sha256").update(JSON.stringify([options.model, messages(prompt), o.maxNewTokens, o.temperature, o.topP, o.seed])).digest("hex");

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
    if (options.cacheFile) {
      mkdirSync(dirname(options.cacheFile), { recursive: true });
      appendFileSync(options.cacheFile, `${JSON.stringify({ key, ...gen })}\n`);
    }
    return gen;
  }

  return {
    name,
    stats,
    async generate(prompts: string[], o: EvalSamplingOptions): Promise<Generation[]> {
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
