#!/usr/bin/env node
import { Command } from "commander";

const program = new Command()
  .name("openr1")
  .description("The OpenR1 math fine-tuning pipeline: data, model, LoRA training, evaluation, tracking");

await program.parseAsync(process.argv);
