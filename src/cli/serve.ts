import type { Command } from "commander";
import { loadGenerationModel } from "../eval/model-generator.js";
import { GenerationEngine } from "../serve/engine.js";
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
  maxBodyBytes: number;
}


const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

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
    .option("--max-batch <n>", "requests generated together", int("--max-batch"), 8)
    .option("--max-queue <n>", "requests waiting before new ones get HTTP 429", int("--max-queue"), 64)
    .option("--max-tokens <n>", "max_tokens of a chat request that gives none", int("--max-tokens"), 512)
    .option("--max-body-bytes <n>", "largest request body accepted", int("--max-body-bytes"), 2 ** 20)
    .action(async (model: string, o: ServeCliOptions) => {
      const apiKey = o.apiKey ?? process.env.OPENR1_API_KEY;
      if (!LOOPBACK.has(o.host) && !apiKey) console.error(`warning: serving on ${o.host} without an API key: anyone who can reach it can use the model`);
      const loaded = await loadGenerationModel({ model, adapter: o.adapter });
      const engine = new GenerationEngine(loaded.model, loaded.tokenizer, { maxBatch: Math.max(1, o.maxBatch), maxQueue: o.maxQueue });
      const name = o.servedModelName ?? model;
      const running = await startServer(engine, {
        modelName: name, host: o.host, port: o.port, apiKey, defaultMaxTokens: o.maxTokens, maxBodyBytes: o.maxBodyBytes,
      });
      console.log(`Serving ${name} (${loaded.dir}${o.adapter ? ` + adapter ${o.adapter}` : ""}) at ${running.url}`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          console.log(`${signal}: stopping (requests in progress finish, waiting ones get 503)`);
          void running.close().then(resolve);
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
      loaded.dispose();
    });
}
