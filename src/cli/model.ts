import type { Command } from "commander";
import { selectBackend, type BackendPreference } from "../backend.js";
import { backendOption, int, num } from "./options.js";
import { NEW_TOKEN_DEFAULTS } from "../generation-defaults.js";
import {
  countParameters,
  createRandomQwen2,
  DEFAULT_MODEL_REPO,
  ensureRandomQwen2,
  generateAsync,
  leftPad,
  loadQwen2Model,
  LoraModel,
  resolveModelDir,
  SMALL_RANDOM_QWEN2,
} from "../model/index.js";
import { defaultTokenizerDir, loadTokenizer } from "../tokenizer/index.js";
import { OPEN_R1_SYSTEM_PROMPT } from "../data/prompt.js";
import { existsSync } from "node:fs";
import { join } from "node:path";


/** "random-small" is the generated offline model; "tiny-math" the shipped one; anything else a local folder or a Hub repo id. */
async function modelDir(source: string, offline: boolean): Promise<string> {
  return source === "random-small" ? ensureRandomQwen2() : resolveModelDir(source, { offline: offline || undefined });
}

/** `openr1 model …`: inspect, generate with, and create Qwen2 models. */
export function registerModelCommands(program: Command): void {
  const model = program.command("model").description("Qwen2 models: parameter counts, generation, random models");

  model
    .command("info")
    .description("print the config and the parameter count per module")
    .option("--model <source>", '"tiny-math" (shipped), "random-small", a local HF-layout folder, or a Hub repo id', "tiny-math")
    .option("--offline", "use the Hub cache only")
    .action(async (o: { model: string; offline?: boolean }) => {
      await selectBackend();
      const m = await loadQwen2Model(await modelDir(o.model, Boolean(o.offline)));
      const { modules, total } = countParameters(m.config);
      console.table(modules.map((r) => ({ module: r.module, shape: r.shape, params: r.count, repeats: r.repeats, total: r.count * r.repeats })));
      console.log(`total parameters: ${total.toLocaleString("en-US")}`);
      m.dispose();
    });

  model
    .command("generate")
    .description("answer a prompt through the chat template, streaming tokens")
    .requiredOption("--prompt <text>", "the user turn")
    .option("--model <source>", `"tiny-math" (shipped), "random-small", a local HF-layout folder, or a Hub repo id (e.g. ${DEFAULT_MODEL_REPO})`, "tiny-math")
    .option("--adapter <dir>", "a peft LoRA adapter folder to apply")
    .option("--system <text>", "system turn (default: open-r1's, the one training and evaluation use)", OPEN_R1_SYSTEM_PROMPT)
    .option("--no-system", "no system turn (the chat template may insert its own)")
    .option("--max-new-tokens <n>", "tokens to generate at most", int("--max-new-tokens"), NEW_TOKEN_DEFAULTS.modelGenerate)
    .option("--sample", "sample instead of greedy decoding")
    .option("--temperature <x>", "sampling temperature", num("--temperature"), 0.7)
    .option("--top-k <n>", "keep the k most likely tokens (0: all)", int("--top-k"), 20)
    .option("--top-p <x>", "nucleus sampling mass", num("--top-p"), 0.8)
    .option("--seed <n>", "sampling seed", int("--seed"), 0)
    .option("--offline", "use the Hub cache only")
    .addOption(backendOption())
    .action(async (o: {
      prompt: string; model: string; adapter?: string; system: string | false; maxNewTokens: number; sample?: boolean;
      temperature: number; topK: number; topP: number; seed: number; offline?: boolean; backend: BackendPreference;
    }) => {
      const backend = await selectBackend(o.backend);
      const dir = await modelDir(o.model, Boolean(o.offline));
      const m = await loadQwen2Model(dir);
      const lora = o.adapter ? await LoraModel.load(m, o.adapter) : undefined;
      const tokenizer = loadTokenizer(existsSync(join(dir, "tokenizer.json")) ? dir : defaultTokenizerDir());
      const messages = [...(o.system ? [{ role: "system" as const, content: o.system }] : []), { role: "user" as const, content: o.prompt }];
      const ids = tokenizer.encodeChat(messages, { addGenerationPrompt: true });
      console.error(`${backend.source} · ${dir} · ${ids.length} prompt tokens`);
      const t0 = performance.now();
      const out = await generateAsync(m, leftPad([ids], tokenizer.padTokenId), {
        maxNewTokens: o.maxNewTokens,
        eosTokenIds: tokenizer.chatStopIds,
        padTokenId: tokenizer.padTokenId,
        doSample: Boolean(o.sample),
        temperature: o.temperature,
        topK: o.topK,
        topP: o.topP,
        seed: o.seed,
        onToken: ({ token }) => process.stdout.write(tokenizer.decode([token], { skipSpecialTokens: true })),
      });
      const s = (performance.now() - t0) / 1000;
      console.error(`\n[${out.finishReasons[0]}] ${out.newTokens[0].length} tokens in ${s.toFixed(1)} s`);
      lora?.dispose();
      m.dispose();
    });

  model
    .command("create-random <dir>")
    .description("write a deterministic random Qwen2 model (HF layout, tied embeddings, Qwen2.5 vocabulary and special tokens)")
    .option("--seed <n>", "seed", int("--seed"), SMALL_RANDOM_QWEN2.seed)
    .option("--hidden <n>", "hidden size", int("--hidden"), SMALL_RANDOM_QWEN2.hidden)
    .option("--layers <n>", "decoder layers", int("--layers"), SMALL_RANDOM_QWEN2.layers)
    .option("--heads <n>", "attention heads", int("--heads"), SMALL_RANDOM_QWEN2.heads)
    .option("--kv-heads <n>", "key/value heads", int("--kv-heads"), SMALL_RANDOM_QWEN2.kvHeads)
    .option("--intermediate <n>", "MLP size", int("--intermediate"), SMALL_RANDOM_QWEN2.intermediate)
    .option("--vocab <n>", "vocabulary size", int("--vocab"), SMALL_RANDOM_QWEN2.vocab)
    .option("--f32", "store float32 instead of bfloat16")
    .action(async (dir: string, o: { seed: number; hidden: number; layers: number; heads: number; kvHeads: number; intermediate: number; vocab: number; f32?: boolean }) => {
      await createRandomQwen2(dir, { ...o, dtype: o.f32 ? "F32" : "BF16" });
      console.log(`wrote ${dir}`);
    });
}
