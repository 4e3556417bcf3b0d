import type { Command } from "commander";
import { selectBackend, type BackendPreference } from "../backend.js";
import { backendOption } from "./options.js";
import { runPretrain } from "../pretrain/run.js";
import { TINY_MATH_RECIPE } from "../pretrain/recipe.js";
import { ProgressBarCallback, type TrainerCallback } from "../train/index.js";
import { interruptController } from "../train/interrupt.js";

interface PretrainCliOptions {
  outputDir: string;
  resume?: boolean;
  backend: BackendPreference;
  progress: boolean;
}

/** Without a progress bar (logs, CI): one line per log and evaluation. */
const logLines: TrainerCallback = {
  onLog: (logs, state) => console.log(`step ${state.globalStep}/${state.maxSteps} loss ${logs.loss.toFixed(4)} lr ${logs.learning_rate.toExponential(2)} ${Math.round(logs.tokens_per_second)} tokens/s`),
  onEvaluate: (metrics, state) => console.log(`step ${state.globalStep} validation loss ${metrics.eval_loss.toFixed(4)}`),
};

/** `openr1 pretrain`: rebuilds the shipped base model from its recipe. */
export function registerPretrainCommands(program: Command): void {
  program
    .command("pretrain")
    .description(`Pretrain the shipped base model (${TINY_MATH_RECIPE.name}) from scratch on its generated corpus, every weight trainable (about an hour on 2 cores)`)
    .option("--output-dir <dir>", "checkpoints, then model/ (HF layout + provenance.json)", "runs/pretrain")
    .option("--resume", "continue from the latest checkpoint in --output-dir")
    .addOption(backendOption())
    .option("--no-progress", "no progress bar")
    .action(async (o: PretrainCliOptions) => {
      const interrupt = interruptController({ what: "the current step (corpus preparation stops at once)" });
      try {
        const backend = await selectBackend(o.backend);
        console.log(`backend: ${backend.name} (${backend.source})`);
        const result = await runPretrain({
          outputDir: o.outputDir,
          resume: o.resume,
          callbacks: [o.progress ? new ProgressBarCallback() : logLines],
          signal: interrupt.signal,
          log: (line) => console.log(line),
          command: `openr1 pretrain --output-dir ${o.outputDir}`,
          backend: `${backend.name} (${backend.source})`,
        });
        if (result.status === "aborted") {
          const kept = result.lastCheckpoint ? `checkpoint ${result.lastCheckpoint}. Resume with --resume.` : "no checkpoint yet: run the same command again.";
          console.log(`Interrupted during ${result.interruptedDuring} at step ${result.globalStep}/${result.maxSteps}; ${kept}`);
          process.exitCode = 130;
          return;
        }
        const p = result.provenance!;
        console.log(`done: ${p.training.steps} steps, train loss ${p.training.firstLosses[0]?.toFixed(3)} → ${p.training.finalTrainLoss.toFixed(3)}, ` +
          `validation loss ${p.training.finalValidationLoss?.toFixed(3)}; check accuracy ${(100 * p.check.accuracy).toFixed(1)}% (${p.check.correct}/${p.check.problems})`);
        console.log(`model: ${result.savedModelDir} (to ship it: copy its files into src/assets/models/${TINY_MATH_RECIPE.name}/)`);
      } catch (e) {
        console.error(`error: ${(e as Error).message}`);
        process.exitCode = 1;
      } finally {
        interrupt.dispose();
      }
    });
}
