import { freemem, totalmem } from "node:os";
import type { Command } from "commander";
import { environment } from "../environment.js";
import { selectBackend } from "../backend.js";
import { loadGenerationModel } from "../eval/model-generator.js";
import { GenerationEngine } from "../serve/engine.js";
import { bytesPerContextToken, defaultMaxContext, modelFingerprint } from "../serve/identity.js";
import { startServer } from "../serve/server.js";
import { serveSettings, type ServeSettings } from "../serve/settings.js";
import { addOptions, settingOption } from "./setting-option.js";

interface ServeCliOptions extends ServeSettings {
  adapter?: string;
  apiKey?: string;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);
const GiB = 2 ** 30;

/** `openr1 serve MODEL`: the model behind an OpenAI-compatible API. */
export function registerServeCommands(program: Command): void {
  const command = program
    .command("serve")
    .description("Serve a model over the OpenAI API (/v1/models, /v1/completions, /v1/chat/completions, streaming), batching concurrent requests")
    .argument("[model]", "tiny-math (the shipped model), a local HF-layout folder or a Hub repo id", "tiny-math")
    .option("--adapter <dir>", "a PEFT LoRA adapter folder to attach")
    .option("--api-key <key>", "require this bearer token (default: $OPENR1_API_KEY; none: no check)");
  // Every serve setting (src/serve/settings.ts) is an option named as the setting.
  for (const [key, schema] of Object.entries(serveSettings.shape)) addOptions(command, settingOption(kebab(key), schema, `serve.${key}`));
  command
    .action(async (model: string, o: ServeCliOptions) => {
      const apiKey = o.apiKey ?? environment().serveApiKey;
      if (!LOOPBACK.has(o.host) && !apiKey) console.error(`warning: serving on ${o.host} without an API key: anyone who can reach it can use the model`);
      const loaded = await loadGenerationModel({ model, adapter: o.adapter });
      const backend = await selectBackend();
      const config = loaded.model.config;
      const { maxBatch, prefillChunk } = o;
      if (o.maxContext !== null && o.maxContext > config.maxPositionEmbeddings) {
        throw new Error(`--max-context ${o.maxContext} is beyond the model's max_position_embeddings (${config.maxPositionEmbeddings})`);
      }
      const budget = Math.min(totalmem() / 4, freemem() / 2);
      const maxContext = o.maxContext ?? defaultMaxContext(config, maxBatch, budget, loaded.model.execution.attentionTileBytes);
      const worst = (maxContext * bytesPerContextToken(config, maxBatch)) / GiB;
      const why = o.maxContext !== null ? "--max-context"
        : maxContext === config.maxPositionEmbeddings ? "the model's limit"
        : `what fits ${(budget / GiB).toFixed(1)} GiB, a quarter of this machine's memory or half of what is free`;
      const fingerprint = await modelFingerprint(loaded.dir, o.adapter);
      const engine = new GenerationEngine(loaded.model, loaded.tokenizer, { maxBatch, maxQueue: o.maxQueue, prefillChunk });
      const name = o.servedModelName ?? model;
      const running = await startServer(engine, {
        modelName: name, host: o.host, port: o.port, apiKey, maxTokens: o.maxTokens, maxBodyBytes: o.maxBodyBytes,
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
