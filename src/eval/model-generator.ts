/**
 * A Generator over the TF.js Qwen2 model and the Qwen2.5 tokenizer: each prompt becomes a user turn
 * of the chat template after the training system prompt (so evaluation sees exactly the prompt format
 * training used), with the generation prompt; the batch is left-padded, and generation runs
 * with the KV cache until <|im_end|> / <|endoftext|> or max_new_tokens.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { selectBackend } from "../backend.js";
import {
  ensureRandomQwen2,
  generateAsync,
  leftPad,
  LoraModel,
  Qwen2Model,
  resolveModelDir,
} from "../model/index.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/index.js";
import { OPEN_R1_SYSTEM_PROMPT } from "../data/prompt.js";
import type { MathExample } from "../data/types.js";
import { evaluate, type EvalConfigInput, type EvalResult, type EvalSamplingOptions, type Generation, type Generator } from "./run.js";

export interface ModelGeneratorOptions {
  /** The system turn before each problem: by default the one training used (open-r1's); null for none. */
  systemPrompt?: string | null;
  eosTokenIds?: number[];
}

export function modelGenerator(name: string, model: Qwen2Model, tokenizer: Tokenizer, options: ModelGeneratorOptions = {}): Generator {
  const eos = options.eosTokenIds ?? tokenizer.chatStopIds;
  const system = options.systemPrompt === undefined ? OPEN_R1_SYSTEM_PROMPT : options.systemPrompt;
  return {
    name,
    async generate(prompts: string[], o: EvalSamplingOptions): Promise<Generation[]> {
      const ids = prompts.map((p) =>
        tokenizer.encodeChat(
          [...(system === null ? [] : [{ role: "system" as const, content: system }]), { role: "user" as const, content: p }],
          { addGenerationPrompt: true },
        ),
      );
      const input = leftPad(ids, tokenizer.padTokenId);
      const r = await generateAsync(model, input, {
        maxNewTokens: o.maxNewTokens,
        eosTokenIds: eos,
        padTokenId: tokenizer.padTokenId,
        doSample: o.temperature > 0,
        temperature: o.temperature > 0 ? o.temperature : undefined,
        topP: o.topP,
        seed: o.seed,
      });
      return r.newTokens.map((tokens, i) => ({
        text: tokenizer.decode(tokens, { skipSpecialTokens: true }),
        numTokens: tokens.length,
        finishReason: r.finishReasons[i]!,
      }));
    },
  };
}

/**
 * Replays each problem's reference solution (the dataset's `solution`, or its verified reasoning
 * trace): the accuracy it gets is the answer checker's agreement with the dataset's own labels.
 */
export function referenceGenerator(examples: { problem: string; solution: string; reasoning?: string }[], use: "solution" | "reasoning" = "solution"): Generator {
  const byPrompt = new Map(examples.map((e) => [e.problem, use === "reasoning" ? (e.reasoning ?? e.solution) : e.solution]));
  return {
    name: `reference-${use}`,
    async generate(prompts: string[]): Promise<Generation[]> {
      return prompts.map((p) => {
        const problem = [...byPrompt.keys()].find((k) => p.startsWith(k));
        if (problem === undefined) throw new Error("referenceGenerator: a prompt does not start with any known problem");
        const text = byPrompt.get(problem)!;
        return { text, numTokens: text.split(/\s+/).filter(Boolean).length, finishReason: "eos" as const };
      });
    },
  };
}

/**
 * Loads a model for generation: `model` is a local HF-layout directory, a Hub repository id, or "tiny-math" (the
 * shipped model, the offline default) or "random-small"; `adapter` a PEFT LoRA directory attached to it. The
 * tokenizer is the model directory's own when it has one, else the shipped Qwen2.5 tokenizer.
 */
export async function loadGenerationModel(spec: { model: string; adapter?: string }): Promise<{ model: Qwen2Model; tokenizer: Tokenizer; dir: string; dispose(): void }> {
  await selectBackend();
  const dir = spec.model === "random-small" ? await ensureRandomQwen2() : await resolveModelDir(spec.model);
  const model = await Qwen2Model.fromDirectory(dir);
  const lora = spec.adapter ? await LoraModel.load(model, spec.adapter) : undefined;
  const ownTokenizer = existsSync(join(dir, "tokenizer.json")) && existsSync(join(dir, "tokenizer_config.json"));
  return {
    model,
    tokenizer: ownTokenizer ? loadTokenizer(dir) : loadTokenizer(),
    dir,
    dispose: () => {
      lora?.dispose();
      model.dispose();
    },
  };
}

/** `loadGenerationModel` as an evaluation Generator. */
export async function loadModelGenerator(spec: { model: string; adapter?: string; label: string }, options: ModelGeneratorOptions = {}): Promise<Generator> {
  const { model, tokenizer } = await loadGenerationModel(spec);
  return modelGenerator(spec.label, model, tokenizer, options);
}

/**
 * Evaluates a model (with a PEFT adapter, wherever it was trained: here, or by TRL / open-r1 after `openr1 export
 * trl`) on `examples`, and frees it afterwards.
 */
export async function evaluateModel(spec: { model: string; adapter?: string; label?: string }, examples: MathExample[], config: EvalConfigInput = {}): Promise<EvalResult> {
  const loaded = await loadGenerationModel(spec);
  try {
    return await evaluate(modelGenerator(spec.label ?? (spec.adapter ? "adapter" : "model"), loaded.model, loaded.tokenizer), examples, config);
  } finally {
    loaded.dispose();
  }
}
