#!/usr/bin/env node
import { Command } from "commander";
import { applyEnvironment, readEnvironment } from "./environment.js";

// The project's environment variables are read once, here (docs/configuration.md).
try {
  applyEnvironment(readEnvironment(process.env));
} catch (e) {
  console.error(`openr1: ${(e as Error).message}`);
  process.exit(2);
}

const program = new Command()
  .name("openr1")
  .description("The OpenR1 math fine-tuning pipeline: data, model, LoRA training, GRPO, evaluation, tracking")
  .showHelpAfterError();

type Register = (program: Command) => void;
// Each command's module is imported only when that command runs: `openr1 score` must not load TensorFlow.js.
const commands: Record<string, () => Promise<Register>> = {
  run: async () => (await import("./cli/pipeline.js")).registerPipelineCommands,
  data: async () => (await import("./cli/data.js")).registerDataCommands,
  model: async () => (await import("./cli/model.js")).registerModelCommands,
  pretrain: async () => (await import("./cli/pretrain.js")).registerPretrainCommands,
  train: async () => (await import("./cli/train.js")).registerTrainCommands,
  grpo: async () => (await import("./cli/grpo.js")).registerGrpoCommands,
  score: async () => (await import("./cli/eval.js")).registerEvalCommands,
  evaluate: async () => (await import("./cli/eval.js")).registerEvalCommands,
  serve: async () => (await import("./cli/serve.js")).registerServeCommands,
  report: async () => (await import("./cli/tracking.js")).registerTrackingCommands,
  sync: async () => (await import("./cli/tracking.js")).registerTrackingCommands,
  export: async () => (await import("./cli/export.js")).registerExportCommands,
};
const name = process.argv[2];
const loaders = name !== undefined && name in commands ? [commands[name]!] : Object.values(commands);
const registered = new Set<Register>();
for (const load of loaders) {
  const register = await load();
  if (!registered.has(register)) register(program);
  registered.add(register);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Errors from the stages already name the file and the problem: print the message, not a stack.
  console.error(`openr1: ${(e as Error).message}`);
  process.exitCode = 1;
}
