import { InvalidArgumentError, Option, type Command } from "commander";
import { selectBackend } from "../backend.js";
import { addOptions, configOption, givenSettings, settingFlag } from "./options.js";
import { formatFilterReport } from "../data/index.js";
import { pipelineConfigSchema, profiles, resolveConfig, trainJobOf, type PipelineConfig, type Profile } from "../pipeline/config.js";
import { prepareRunData } from "../pipeline/run.js";
import { settingLeaves } from "../settings.js";
import { interruptController } from "../train/interrupt.js";
import { describeFormatReport, ProgressBarCallback, runTrainJob, TrainingDivergedError, type ResumeChangeable } from "../train/index.js";

/** --allow-change: the options a resume may change, and the trainer settings they set. */
const CHANGEABLE: Record<string, ResumeChangeable> = { lr: "learningRate", "max-grad-norm": "maxGradNorm" };
const changeable = (v: string) => {
  const names = v.split(",").map((s) => s.trim());
  for (const n of names) if (!(n in CHANGEABLE)) throw new InvalidArgumentError(`"${n}" cannot change on a resume (use ${Object.keys(CHANGEABLE).join(",")})`);
  return names.map((n) => CHANGEABLE[n]!);
};

/**
 * The settings `openr1 train` takes, each with its flag: every training and LoRA setting, and the seed, backend,
 * data and model settings it shares with `openr1 run`.
 */
export const TRAIN_SETTINGS: { path: string; flag: string }[] = [
  ...["data.source", "data.limit", "data.validation", "model.source", "seed", "backend"],
  ...["train", "lora"].flatMap((section) => settingLeaves(pipelineConfigSchema).map((l) => l.path.join(".")).filter((p) => p.startsWith(`${section}.`))),
].map((path) => ({ path, flag: settingFlag(path) }));

/**
 * The command line that follows a divergence's advice: these options, resuming from `checkpoint` with a tenth of the
 * learning rate, the change accepted.
 */
export function recoveryCommand(args: string[], checkpoint: string, lr: number): string {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^--(lr|allow-change|resume)=/.test(a)) continue;
    if (a === "--lr" || a === "--allow-change") i++;
    else if (a === "--resume") i += args[i + 1] !== undefined && !args[i + 1]!.startsWith("-") ? 1 : 0;
    else kept.push(a);
  }
  const quote = (x: string) => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replaceAll("'", "'\\''")}'`);
  return ["openr1", ...kept, "--resume", checkpoint, "--lr", String(Number((lr / 10).toPrecision(6))), "--allow-change", "lr"].map(quote).join(" ");
}

/**
 * The configuration `openr1 train` runs with: its profile (or config file) with the settings given on its command
 * line over it, resolved and checked as `openr1 run` resolves `--set`.
 */
export function trainCommandConfig(command: Command): PipelineConfig {
  const o = command.opts<TrainCliOptions>();
  return resolveConfig({ profile: o.profile, file: o.config, patch: givenSettings(command, TRAIN_SETTINGS) });
}

interface TrainCliOptions extends Record<string, unknown> {
  profile?: Profile; config?: string; tokenizer?: string; outputDir: string; systemPrompt?: string | false;
  resume?: string | boolean; allowChange?: ResumeChangeable[]; progress: boolean;
}

/**
 * `openr1 train`: the training stage of `openr1 run` as a command — the same settings (flags here, `--set` there),
 * the same data and the same job, so a checkpoint of either resumes in the other.
 */
export function registerTrainCommands(program: Command): void {
  const command = program
    .command("train")
    .description(
      "Fine-tuning (LoRA, or every weight with --method full): format with the chat template, train (AdamW, warmup + cosine), checkpoint, save the adapter and merged model (or the trained model). " +
        "Every setting defaults to the default profile's value; --profile full starts from that profile's.",
    )
    .addOption(new Option("--profile <name>", "the settings the flags change: default or full").choices(Object.keys(profiles)))
    .option("--config <file>", "JSON config (as `openr1 run --config`) the flags change")
    .option("--tokenizer <dir>", "tokenizer folder (default: the model's, else the shipped Qwen2.5 tokenizer)")
    .option("--output-dir <dir>", "checkpoints, adapter/ and merged/ go here", "runs/train")
    .option("--system-prompt <text>", "system turn (default: open-r1's)")
    .option("--no-system-prompt", "no system turn");
  for (const { path, flag } of TRAIN_SETTINGS) addOptions(command, configOption(flag, path));
  command
    .option("--resume [checkpoint]", "resume from a checkpoint folder (alone: the latest in --output-dir)")
    .option("--allow-change <options>", "resume with these options changed from the checkpoint's (lr, max-grad-norm; comma-separated): recorded in the later checkpoints", changeable)
    .option("--no-progress", "no progress bar")
    .action(async (o: TrainCliOptions) => {
      const config = trainCommandConfig(command);
      const interrupt = interruptController();
      try {
        const backend = await selectBackend(config.backend);
        console.log(`backend: ${backend.name} (${backend.source})`);
        const data = await prepareRunData(config);
        console.log(formatFilterReport(data.report));
        const job = trainJobOf(config, o.outputDir);
        const result = await runTrainJob({
          ...job,
          data: data.split,
          tokenizerDir: o.tokenizer,
          format: { ...job.format, systemPrompt: o.systemPrompt === false ? null : o.systemPrompt },
          resumeFrom: o.resume === true ? "latest" : o.resume || undefined,
          allowChanges: o.allowChange,
          callbacks: o.progress ? [new ProgressBarCallback()] : [],
          signal: interrupt.signal,
          onReady: (info) => {
            console.log(`model: ${info.modelDir}\ntokenizer: ${info.tokenizerDir}\n${info.parameters.text}`);
            console.log(`train: ${describeFormatReport(info.train)}\nvalidation: ${describeFormatReport(info.validation)}`);
          },
        });
        if (result.status === "aborted") {
          console.log(`Interrupted at step ${result.globalStep}/${result.maxSteps}; checkpoint ${result.lastCheckpoint}. Resume with the same options and --resume.`);
          process.exitCode = 130;
          return;
        }
        const last = result.steps.at(-1);
        console.log(`done: ${result.globalStep}/${result.maxSteps} steps${last ? `, last loss ${last.loss.toFixed(4)}` : ""}` +
          (result.evals.length ? `, validation loss ${result.evals.at(-1)!.evalLoss.toFixed(4)}` : ""));
        if (result.adapterDir) console.log(`adapter (peft): ${result.adapterDir}`);
        if (result.mergedDir) console.log(`merged model (HF): ${result.mergedDir}`);
        if (result.savedModelDir) console.log(`trained model (HF): ${result.savedModelDir}`);
        for (const c of result.changes) console.log(`changed on resuming from step ${c.step} (recorded in the checkpoints): ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`);
      } catch (e) {
        if (e instanceof TrainingDivergedError) {
          console.error(e.message);
          if (e.usableCheckpoint) console.error(`To resume from it with a tenth of the learning rate:\n  ${recoveryCommand(process.argv.slice(2), e.usableCheckpoint, config.train.learningRate)}`);
        } else {
          console.error(`error: ${(e as Error).message}`);
        }
        process.exitCode = 1;
      } finally {
        interrupt.dispose();
      }
    });
}
