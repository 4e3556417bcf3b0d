import { freemem, totalmem } from "node:os";
import type { Command } from "commander";
import { environment } from "../environment.js";
import { selectBackend } from "../backend.js";
import { loadGenerationModel } from "../eval/model-generator.js";
import { NEW_TOKEN_DEFAULTS } from "../generation-defaults.js";
import { DEFAULT_PREFILL_CHUNK } from "../model/generate.js";
import { GenerationEngine } from "../serve/engine.js";
import { bytesPerContextToken, defaultMaxContext, modelFingerprint } from "../serve/identity.js";
import { startServer } from "../serve/server.js";
import { int } from "./options.js";

interface ServeCliOptions {
  adapter?: string;
  host: string;
  port: number;
  servedModelName?: string;
  apiKey?: string;
  maxBatch: number;
  maxQueue: number;
  maxTokens: number;
  maxContext?: number;
  prefillChunk: number;
  maxBodyBytes: number;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);
const GiB = 2 ** 30;

/** `openr1 serve MODEL`: the model behind an OpenAI-compatible API. */
export function registerServeCommands(program: Command): void {
  program
    .command("serve")
    .description("Serve a model over the OpenAI API (/v1/models, /v1/completions, /v1/chat/completions, streaming), batching concurrent requests")
    .argument("[model]", "tiny-math (the shipped model), a local HF-layout folder or a Hub repo id", "tiny-math")
    .option("--adapter <dir>", "a PEFT LoRA adapter folder to attach")
    .option("--host <address>", "interface to listen on; anything but loopback exposes the model to the network", "127.0.0.1")
    .option("--port <n>", "port (0: a free one)", int("--port"), 8000)
    .option("--served-model-name <name>", "the name clients ask for (default: the model argument)")
    .option("--api-key <key>", "require this bearer token (default: $OPENR1_API_KEY; none: no check)")
    .option("--max-batch <n>", "sequences generated at once (requests join and leave the batch at every token step)", int("--max-batch"), 8)
    .option("--max-queue <n>", "requests waiting before new ones get HTTP 429", int("--max-queue"), 64)
    .option("--max-tokens <n>", "max_tokens of a chat request that gives none", int("--max-tokens"), NEW_TOKEN_DEFAULTS.serveChat)
    .option("--max-context <n>", "prompt + completion tokens a request may reach (default: what the batch's KV cache fits in a quarter of the machine's memory, at most the model's limit)", int("--max-context"))
    .option("--prefill-chunk <n>", "prompt tokens per forward call: a long prompt goes through in chunks, between the other requests' token steps", int("--prefill-chunk"), DEFAULT_PREFILL_CHUNK)
    .option("--max-body-bytes <n>", "largest request body accepted", int("--max-body-bytes"), 2 ** 20)
    .action(async (model: string, o: ServeCliOptions) => {
      const apiKey = o.apiKey ?? environment().serveApiKey;
      if (!LOOPBACK.has(o.host) && !apiKey) console.error(`warning: serving on ${o.host} without an API key: anyone who can reach it can use the model`);
      const loaded = await loadGenerationModel({ model, adapter: o.adapter });
      const backend = await selectBackend();
      const config = loaded.model.config;
      const maxBatch = Math.max(1, o.maxBatch);
      const prefillChunk = Math.max(1, o.prefillChunk);
      if (o.maxContext !== undefined && o.maxContext > config.maxPositionEmbeddings) {
        throw new Error(`--max-context ${o.maxContext} is beyond the model's max_position_embeddings (${config.maxPositionEmbeddings})`);
      }
      const budget = Math.min(totalmem() / 4, freemem() / 2);
      const maxContext = o.maxContext ?? defaultMaxContext(config, maxBatch, budget, loaded.model.execution.attentionTileBytes);
      const worst = (maxContext * bytesPerContextToken(config, maxBatch)) / GiB;
      const why = o.maxContext !== undefined ? "--max-context"
        : maxContext === config.maxPositionEmbeddings ? "the model's limit"
        : `what fits ${(budget / GiB).toFixed(1)} GiB, a quarter of this machine's memory or half of what is free`;
      const fingerprint = await modelFingerprint(loaded.dir, o.adapter);
      const engine = new GenerationEngine(loaded.model, loaded.tokenizer, { maxBatch, maxQueue: o.maxQueue, prefillChunk });
      const name = o.servedModelName ?? model;
      const running = await startServer(engine, {
        modelName: name, host: o.host, port: o.port, apiKey, defaultMaxTokens: o.maxTokens, maxBodyBytes: o.maxBodyBytes,
        maxContext, fingerprint, root: o.adapter ?? loaded.dir, parent: o.adapter ? loaded.dir : undefined, backend: backend.source,
      });
      console.log(`Backend: ${backend.source}`);
      console.log(`Max context: ${maxContext} tokens (${why}; ${maxBatch === 1 ? "a sequence" : `${maxBatch} sequences`} at it need up to ${worst.toFixed(1)} GiB)`);
      console.log(`Model fingerprint: ${fingerprint}`);
      console.log(`Serving ${name} (${loaded.dir}${o.adapter ? ` + adapter ${o.adapter}` : ""}) at ${running.url}`);
      const signal = await new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      console.log(`${signal}: stopping (the running requests finish, waiting ones get 503)`);
      await running.close();
      loaded.dispose();
      // Nothing is left to do: exit now rather than when the last native handle lets go.
      process.stdout.write("stopped\n", () => process.exit(0));
    });
}
