import { InvalidArgumentError, type Command } from "commander";
import { selectBackend, type BackendPreference } from "../backend.js";
import { backendOption, int, num, oneOf } from "./options.js";
import { dataSourceFrom, formatFilterReport, prepareDataset } from "../data/index.js";
import { evaluate, loadModelGenerator, type EvalResult } from "../eval/index.js";
import { LINEAR_NAMES, type LinearName } from "../model/weights.js";
import { profiles, rlProfiles, type RlProfile } from "../pipeline/config.js";
import { GrpoProgressBar } from "../rl/display.js";
import { runGrpoJob } from "../rl/job.js";
import { LOSS_TYPES, type LossType } from "../rl/loss.js";
import { REWARD_FUNCS, type RewardFuncName } from "../rl/rewards.js";
import { GrpoTrackingCallback } from "../rl/tracking.js";
import { createTracker } from "../tracking/index.js";
import { interruptController } from "../train/interrupt.js";

const d = profiles.default;

const list = <T extends string>(name: string, allowed: readonly T[]) => (v: string) => {
  const names = v.split(",").map((s) => s.trim());
  for (const n of names) if (!allowed.includes(n as T)) throw new InvalidArgumentError(`${name}: unknown "${n}" (use ${allowed.join(",")})`);
  return names as T[];
};
const numbers = (name: string) => (v: string) => {
  const xs = v.split(",").map(Number);
  if (xs.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`${name} must be comma-separated numbers`);
  return xs;
};

interface GrpoCliOptions {
  profile: RlProfile; model?: string; data: string; validation: number; seed: number; outputDir?: string; method?: "lora" | "full";
  loraR: number; loraAlpha: number; loraDropout: number; loraTargets: LinearName[];
  numGenerations?: number; promptsPerStep?: number; maxCompletionLength?: number; temperature?: number; topP?: number; microBatchSize?: number;
  numIterations?: number; epsilon?: number; epsilonHigh?: number; beta?: number; lossType?: LossType; scaleRewards?: "group" | "batch" | "none";
  maskTruncatedCompletions?: boolean; rewardFuncs?: RewardFuncName[]; rewardWeights?: number[]; lr?: number; warmupRatio?: number;
  schedule?: "cosine" | "linear" | "constant"; maxGradNorm?: number; maxSteps?: number; logEvery?: number; saveEvery?: number; keepCheckpoints?: number;
  resume?: boolean; evalProblems: number; tracking: "auto" | "online" | "offline" | "disabled"; backend: BackendPreference; progress: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** `openr1 grpo`: GRPO on generated problems from the shipped model (R1-Zero) or an SFT run's model, then base vs RL on the held-out problems. */
export function registerGrpoCommands(program: Command): void {
  program
    .command("grpo")
    .description("Reinforcement learning with GRPO (TRL's semantics): sample groups, score with open-r1's rewards, optimise the clipped surrogate; checkpoints, --resume, evaluation before and after")
    .option("--profile <name>", `settings: default (the pipeline's RL stage, after SFT) or r1-zero (from the base model, no SFT)`, oneOf("--profile", ["default", "r1-zero"] as const), "default")
    .option("--model <source>", "starting policy: a local HF folder (default profile: runs/default/train/merged, what `openr1 run` fine-tuned), \"tiny-math\" (r1-zero), or a Hub id")
    .option("--data <source>", '"generated" or a local parquet/jsonl file or folder (split as the pipeline splits it)', d.data.source)
    .option("--validation <n>", "held-out problems: a count (>= 1) or a fraction (< 1)", num("--validation"), d.data.validation)
    .option("--seed <n>", "seed of the split, the prompt order, sampling and the LoRA init", int("--seed"), d.seed)
    .option("--output-dir <dir>", "checkpoints, adapter/, merged/ and eval/ go here (default: runs/grpo-<profile>)")
    .option("--method <method>", "lora or full", oneOf("--method", ["lora", "full"] as const))
    .option("--lora-r <n>", "LoRA rank", int("--lora-r", 1), d.lora.r)
    .option("--lora-alpha <x>", "LoRA alpha", num("--lora-alpha"), d.lora.alpha)
    .option("--lora-dropout <x>", "LoRA dropout", num("--lora-dropout"), d.lora.dropout)
    .option("--lora-targets <list>", "comma-separated target modules", list("--lora-targets", LINEAR_NAMES), d.lora.targetModules as LinearName[])
    .option("--num-generations <n>", "G: completions per prompt", int("--num-generations", 2))
    .option("--prompts-per-step <n>", "prompts per generation batch", int("--prompts-per-step", 1))
    .option("--max-completion-length <n>", "new tokens per completion at most", int("--max-completion-length", 1))
    .option("--temperature <x>", "sampling temperature (> 0)", num("--temperature"))
    .option("--top-p <x>", "nucleus sampling", num("--top-p"))
    .option("--micro-batch-size <n>", "completions per forward/backward pass", int("--micro-batch-size", 1))
    .option("--num-iterations <n>", "μ: optimizer steps per generation batch", int("--num-iterations", 1))
    .option("--epsilon <x>", "clip range", num("--epsilon"))
    .option("--epsilon-high <x>", "upper clip range (default: epsilon)", num("--epsilon-high"))
    .option("--beta <x>", "KL coefficient (0: no reference model)", num("--beta"))
    .option("--loss-type <t>", LOSS_TYPES.join(", "), oneOf("--loss-type", LOSS_TYPES))
    .option("--scale-rewards <s>", "group, batch or none", oneOf("--scale-rewards", ["group", "batch", "none"] as const))
    .option("--mask-truncated-completions", "leave truncated completions out of the loss")
    .option("--reward-funcs <list>", `comma-separated: ${REWARD_FUNCS.join(", ")}`, list("--reward-funcs", REWARD_FUNCS))
    .option("--reward-weights <list>", "comma-separated weights, one per reward function", numbers("--reward-weights"))
    .option("--lr <x>", "peak learning rate", num("--lr"))
    .option("--warmup-ratio <x>", "warmup steps = ceil(ratio * steps)", num("--warmup-ratio"))
    .option("--schedule <kind>", "cosine, linear or constant", oneOf("--schedule", ["cosine", "linear", "constant"] as const))
    .option("--max-grad-norm <x>", "clip gradients to this global norm", num("--max-grad-norm"))
    .option("--max-steps <n>", "optimizer steps", int("--max-steps", 1))
    .option("--log-every <n>", "log every N steps", int("--log-every", 1))
    .option("--save-every <n>", "checkpoint every N steps", int("--save-every", 1))
    .option("--keep-checkpoints <n>", "checkpoints kept", int("--keep-checkpoints", 1))
    .option("--resume", "continue from the latest checkpoint in --output-dir")
    .option("--eval-problems <n>", "held-out problems evaluated (greedy) before and after; 0: none", int("--eval-problems"), d.eval.numProblems)
    .option("--tracking <mode>", "auto (W&B when WANDB_API_KEY is set, else a local record), online, offline, disabled", oneOf("--tracking", ["auto", "online", "offline", "disabled"] as const), "auto")
    .addOption(backendOption())
    .option("--no-progress", "no progress bar")
    .action(async (o: GrpoCliOptions) => {
      const p = rlProfiles[o.profile];
      const defined = <T extends object>(x: T) => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
      const rl = { ...p.rl, ...defined({
        numGenerations: o.numGenerations, promptsPerStep: o.promptsPerStep, maxCompletionLength: o.maxCompletionLength, temperature: o.temperature, topP: o.topP,
        microBatchSize: o.microBatchSize, numIterations: o.numIterations, epsilon: o.epsilon, epsilonHigh: o.epsilonHigh, beta: o.beta, lossType: o.lossType,
        scaleRewards: o.scaleRewards, maskTruncatedCompletions: o.maskTruncatedCompletions, rewardFuncs: o.rewardFuncs, rewardWeights: o.rewardWeights,
        learningRate: o.lr, warmupRatio: o.warmupRatio, schedule: o.schedule, maxGradNorm: o.maxGradNorm, maxSteps: o.maxSteps, logEvery: o.logEvery,
        saveEvery: o.saveEvery, keepCheckpoints: o.keepCheckpoints, method: o.method,
      }) };
      const model = o.model ?? p.model;
      const outputDir = o.outputDir ?? `runs/grpo-${o.profile}`;
      const interrupt = interruptController();
      try {
        const backend = await selectBackend(o.backend);
        console.log(`backend: ${backend.name} (${backend.source})`);
        const data = await prepareDataset(dataSourceFrom(o.data), {
          filters: { ...d.data.filters, maxProblemChars: undefined, maxSolutionChars: undefined },
          split: { validation: o.validation, seed: o.seed, stratify: d.data.stratify },
        });
        console.log(formatFilterReport(data.report));
        console.log(`split: ${data.split.train.length} train / ${data.split.validation.length} validation`);
        const held = data.split.validation.slice(0, o.evalProblems);
        const evalConfig = { batchSize: d.eval.batchSize, maxNewTokens: d.eval.maxNewTokens, temperature: 0, topP: 1, seed: o.seed };
        const evalOn = async (label: string, dir: string): Promise<EvalResult> => evaluate(await loadModelGenerator({ model: dir, label }), held, { ...evalConfig, signal: interrupt.signal });
        const tracker = createTracker({
          mode: o.tracking === "auto" ? undefined : o.tracking,
          project: d.tracking.project,
          name: `grpo-${o.profile}`,
          resume: o.resume ? "allow" : "never",
          config: { grpo_profile: o.profile, model, dataset: { source: o.data, train: data.split.train.length, validation: data.split.validation.length } },
          warn: (m) => console.warn(`warning: ${m}`),
        });
        let exitCode = 1;
        try {
          const result = await runGrpoJob({
            train: data.split.train,
            model,
            method: rl.method,
            lora: { r: o.loraR, alpha: o.loraAlpha, dropout: o.loraDropout, targetModules: o.loraTargets },
            grpo: { ...rl, outputDir, seed: o.seed },
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
