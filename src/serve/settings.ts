/**
 * `openr1 serve`'s settings, defined once (see src/settings.ts): its options, GenerationEngine's limits and
 * startServer's options read them from here.
 */
import { z } from "zod";
import { NEW_TOKEN_DEFAULTS } from "../generation-defaults.js";
import { DEFAULT_PREFILL_CHUNK } from "../model/generate.js";
import { integer, integerOrNull, parseSettings, text, textOrNull } from "../settings.js";

export const serveSettings = z.strictObject({
  host: text().default("127.0.0.1").describe("interface to listen on; anything but loopback exposes the model to the network"),
  port: integer({ min: 0, max: 65535 }).default(8000).describe("port; 0: a free one"),
  servedModelName: textOrNull().default(null).describe("the name clients ask for; null: the model argument"),
  maxBatch: integer({ min: 1 }).default(8).describe("sequences generated at once (requests join and leave the batch at every token step)"),
  maxQueue: integer({ min: 1 }).default(64).describe("requests waiting before new ones get HTTP 429"),
  maxTokens: integer({ min: 1 }).default(NEW_TOKEN_DEFAULTS.serveChat).describe("max_tokens of a chat request that gives none (a text completion without it: OpenAI's 16)"),
  maxContext: integerOrNull({ min: 1 }).default(null).describe(
    "prompt + completion tokens a request may reach; null: what the batch's KV cache fits in a quarter of the machine's memory (the library: the model's limit), at most the model's limit",
  ),
  prefillChunk: integer({ min: 1 }).default(DEFAULT_PREFILL_CHUNK).describe("prompt tokens per forward call: a long prompt goes through in chunks, between the other requests' token steps"),
  maxBodyBytes: integer({ min: 1 }).default(2 ** 20).describe("largest request body accepted, in bytes"),
});

export type ServeSettings = z.output<typeof serveSettings>;

export const engineSettings = serveSettings.pick({ maxBatch: true, maxQueue: true, prefillChunk: true });
export const serverSettings = serveSettings.pick({ host: true, port: true, maxTokens: true, maxContext: true, maxBodyBytes: true });

export function resolveEngineSettings(settings: z.input<typeof engineSettings>, source = "GenerationEngine"): z.output<typeof engineSettings> {
  return parseSettings(engineSettings, settings, source);
}

export function resolveServerSettings(settings: z.input<typeof serverSettings>, source = "startServer"): z.output<typeof serverSettings> {
  return parseSettings(serverSettings, settings, source);
}
