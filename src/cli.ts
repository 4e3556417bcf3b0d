#!/usr/bin/env node
import { Command } from "commander";
import { registerDataCommands } from "./cli/data.js";
import { registerEvalCommands } from "./cli/eval.js";
import { registerExportCommands } from "./cli/export.js";
import { registerModelCommands } from "./cli/model.js";
import { registerPipelineCommands } from "./cli/pipeline.js";
import { registerPretrainCommands } from "./cli/pretrain.js";
import { registerServeCommands } from "./cli/serve.js";
import { registerTrackingCommands } from "./cli/tracking.js";
import { registerTrainCommands } from "./cli/train.js";

const program = new Command()
  .name("openr1")
  .description("The OpenR1 math fine-tuning pipeline: data, model, LoRA training, evaluation, tracking")
  .showHelpAfterError();

registerPipelineCommands(program);
registerDataCommands(program);
registerModelCommands(program);
registerPretrainCommands(program);
registerTrainCommands(program);
registerEvalCommands(program);
registerServeCommands(program);
registerTrackingCommands(program);
registerExportCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Errors from the stages already name the file and the problem: print the message, not a stack.
  console.error(`openr1: ${(e as Error).message}`);
  process.exitCode = 1;
}
