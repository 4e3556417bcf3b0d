import type { Command } from "commander";
import { selectBackend } from "../backend.js";
import { addOptions, configOption, givenSettings, int, oneOf, settingFlag } from "./options.js";
import { formatFilterReport } from "../data/index.js";
import { evaluate, loadModelGenerator, type EvalResult } from "../eval/index.js";
import { evalSettingsOf, grpoConfigOf, pipelineConfigSchema, profiles, resolveConfig, rlProfiles, type PipelineConfig, type RlProfile } from "../pipeline/config.js";
import { prepareRunData } from "../pipeline/run.js";
import { GrpoProgressBar } from "../rl/display.js";
import { runGrpoJob } from "../rl/job.js";
import { GrpoTrackingCallback } from "../rl/tracking.js";
import { settingLeaves } from "../settings.js";
import { createTracker } from "../tracking/index.js";
import { interruptController } from "../train/interrupt.js";

const d = profiles.default;

/**
 * The settings `openr1 grpo` takes, each with its flag (the same as `openr1 train`'s where both have it): every RL
 * setting but `rl.enabled` (the pipeline's switch for its RL stage), every LoRA setting, and the data, seed and
 * backend settings it shares with `openr1 run`.
 */
export const GRPO_SETTINGS: { path: string; flag: string }[] = [
  ...["data.source", "data.validation", "seed", "backend"],
  ...["rl", "lora"].flatMap((section) => settingLeaves(pipelineConfigSchema).map((l) => l.path.join(".")).filter((p) => p.startsWith(`${section}.`) && p !== "rl.enabled")),
].map((path) => ({ path, flag: settingFlag(path) }));

interface GrpoCliOptions {
  profile: RlProfile; model?: string; outputDir?: string; resume?: boolean; evalProblems: number; tracking: "auto" | "online" | "offline" | "disabled"; progress: boolean;
}

/**
 * The configuration `openr1 grpo` runs with: the default profile's, its RL settings those of `--profile` (default or
 * r1-zero), with the settings given on its command line over them, resolved and checked as `openr1 run` resolves `--set`.
 */
export function grpoCommandConfig(command: Command): PipelineConfig {
  const o = command.opts<GrpoCliOptions>();
  const given = givenSettings(command, GRPO_SETTINGS);
  return resolveConfig({ patch: { ...given, rl: { ...rlProfiles[o.profile].rl, ...given.rl } } });
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** `openr1 grpo`: GRPO on generated problems from the shipped model (R1-Zero) or an SFT run's model, then base vs RL on the held-out problems. */
export function registerGrpoCommands(program: Command): void {
  const command = program
    .command("grpo")
    .description("Reinforcement learning with GRPO (TRL's semantics): sample groups, score with open-r1's rewards, optimise the clipped surrogate; checkpoints, --resume, evaluation before and after")
    .option("--profile <name>", `settings: default (the pipeline's RL stage, after SFT) or r1-zero (from the base model, no SFT)`, oneOf("--profile", ["default", "r1-zero"] as const), "default")
    .option("--model <source>", "starting policy: a local HF folder (default profile: runs/default/train/merged, what `openr1 run` fine-tuned), \"tiny-math\" (r1-zero), or a Hub id")
    .option("--output-dir <dir>", "checkpoints, adapter/, merged/ and eval/ go here (default: runs/grpo-<profile>)");
  for (const { path, flag } of GRPO_SETTINGS) addOptions(command, configOption(flag, path));
  command
    .option("--resume", "continue from the latest checkpoint in --output-dir")
    .option("--eval-problems <n>", "held-out problems evaluated (greedy) before and after; 0: none", int("--eval-problems"), d.eval.numProblems ?? undefined)
    .option("--tracking <mode>", "auto (W&B when WANDB_API_KEY is set, else a local record), online, offline, disabled", oneOf("--tracking", ["auto", "online", "offline", "disabled"] as const), "auto")
    .option("--no-progress", "no progress bar")
    .action(async (o: GrpoCliOptions) => {
      const interrupt = interruptController();
      try {
        const config = grpoCommandConfig(command);
        const rl = config.rl;
        const model = o.model ?? rlProfiles[o.profile].model;
        const outputDir = o.outputDir ?? `runs/grpo-${o.profile}`;
        const backend = await selectBackend(config.backend);
        console.log(`backend: ${backend.name} (${backend.source})`);
        const data = await prepareRunData(config);
        console.log(formatFilterReport(data.report));
        console.log(`split: ${data.split.train.length} train / ${data.split.validation.length} validation`);
        const held = data.split.validation.slice(0, o.evalProblems);
        const evalConfig = { ...evalSettingsOf(config), numProblems: null };
        const evalOn = async (label: string, dir: string): Promise<EvalResult> => evaluate(await loadModelGenerator({ model: dir, label }), held, { ...evalConfig, signal: interrupt.signal });
        const tracker = createTracker({
          mode: o.tracking === "auto" ? undefined : o.tracking,
          project: d.tracking.project,
          name: `grpo-${o.profile}`,
          resume: o.resume ? "allow" : "never",
          config: { grpo_profile: o.profile, model, rl, lora: config.lora, dataset: { source: config.data.source, train: data.split.train.length, validation: data.split.validation.length } },
          warn: (m) => console.warn(`warning: ${m}`),
        });
        let exitCode = 1;
        try {
          const result = await runGrpoJob({
            train: data.split.train,
            model,
            method: rl.method,
            lora: config.lora,
            grpo: grpoConfigOf(config, outputDir),
            resumeFrom: o.resume ? "latest" : undefined,
            callbacks: [new GrpoTrackingCallback(tracker), ...(o.progress ? [new GrpoProgressBar()] : [])],
            signal: interrupt.signal,
            onReady: (info) => console.log(`model: ${info.modelDir}\n${info.parameters.text}\nGRPO: ${rl.promptsPerStep} prompts × ${rl.numGenerations} completions per step, ${rl.maxSteps} steps, rewards ${rl.rewardFuncs.join(", ")}`),
          });
          result.lora?.dispose();
          result.model.dispose();
          if (result.status === "aborted") {
            console.log(`Interrupted at step ${result.globalStep}/${result.maxSteps}; checkpoint ${result.lastCheckpoint}. Resume with the same options and --resume.`);
            exitCode = 130;
            return;
          }
          const rewards = result.logHistory.filter((h) => "reward" in h);
          console.log(`done: ${result.globalStep} steps; mean reward ${rewards[0]?.reward?.toFixed(3)} → ${rewards.at(-1)?.reward?.toFixed(3)}, ` +
            `completion length ${rewards[0]?.["completions/mean_length"]?.toFixed(1)} → ${rewards.at(-1)?.["completions/mean_length"]?.toFixed(1)} tokens`);
          if (result.adapterDir) console.log(`adapter (peft): ${result.adapterDir}`);
          console.log(`${result.adapterDir ? "merged" : "trained"} model (HF): ${result.tunedDir}`);
          if (held.length > 0) {
            const before = await evalOn("before", result.modelDir);
            const after = await evalOn("after", result.tunedDir!);
            if (before.interrupted || after.interrupted) {
              exitCode = 130;
              return;
            }
            const dp = 100 * (after.summary.accuracy - before.summary.accuracy);
            console.log(`accuracy after RL    before ${pct(before.summary.accuracy)} → rl ${pct(after.summary.accuracy)} (${dp >= 0 ? "+" : ""}${dp.toFixed(1)} points, ${held.length} held-out problems, greedy)`);
            console.log(`response length      before ${before.summary.responseTokens.mean.toFixed(1)} → rl ${after.summary.responseTokens.mean.toFixed(1)} tokens`);
            tracker.setSummary({ "eval_before/accuracy": before.summary.accuracy, "eval/accuracy": after.summary.accuracy });
          }
          exitCode = 0;
        } finally {
          await tracker.finish({ exitCode });
          if (exitCode !== 0) process.exitCode = exitCode;
        }
      } catch (e) {
        console.error(`error: ${(e as Error).message}`);
        process.exitCode = 1;
      } finally {
        interrupt.dispose();
      }
    });
}
