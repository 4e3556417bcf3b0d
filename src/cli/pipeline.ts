import type { Command } from "commander";
import { resolveConfig, type Profile } from "../pipeline/config.js";
import { describeOutputs, describeSummary, runPipeline } from "../pipeline/run.js";
import { interruptController } from "../train/interrupt.js";

interface RunCliOptions {
  profile?: Profile;
  config?: string;
  set: string[];
  runName?: string;
  fresh?: boolean;
  progress: boolean;
  printConfig?: boolean;
  until?: string;
}

/** `openr1 run`: the whole pipeline, on the embedded offline default unless told otherwise. */
export function registerPipelineCommands(program: Command): void {
  program
    .command("run")
    .description("Run the whole pipeline: data → split → model + LoRA → training → evaluation → tracking (resumes an unfinished run)")
    .option("--profile <name>", "default (the shipped tiny-math model on generated problems, offline) or full (Qwen2.5-0.5B-Instruct on OpenR1-Math-220k)")
    .option("--config <file>", "JSON config merged over the profile")
    .option("--set <key=value>", "set one setting, e.g. --set train.learningRate=1e-4 (repeatable; every setting: docs/settings.md)", (v: string, acc: string[]) => [...acc, v], [])
    .option("--run-name <name>", "run directory name under outputDir (default: the profile name)")
    .option("--fresh", "discard an earlier run of the same name instead of resuming it")
    .option("--no-progress", "no progress bars")
    .option("--print-config", "print the resolved configuration and exit")
    .option("--until <stage>", "stop after this stage: data (the split only, e.g. for `openr1 export trl`)")
    .action(async (o: RunCliOptions) => {
      const overrides = [...o.set, ...(o.runName ? [`runName=${JSON.stringify(o.runName)}`] : [])];
      const config = resolveConfig({ profile: o.profile, file: o.config, overrides });
      if (o.printConfig) {
        console.log(JSON.stringify(config, null, 2));
        return;
      }
      if (o.until !== undefined && o.until !== "data") throw new Error(`--until ${o.until}: the only stage to stop after is "data"`);
      const interrupt = interruptController({ what: "the current training step or evaluation batch" });
      try {
        const result = await runPipeline(config, { signal: interrupt.signal, fresh: o.fresh, progress: o.progress, until: o.until as "data" | undefined });
        if (result.summary) console.log(`\nWhat fine-tuning changed:\n${describeSummary(result.summary)}`);
        console.log(`\nPipeline ${result.status}. Outputs:\n${describeOutputs(result)}`);
        if (result.status !== "completed" && result.status !== "stopped") process.exitCode = 130;
      } finally {
        interrupt.dispose();
      }
    });
}
