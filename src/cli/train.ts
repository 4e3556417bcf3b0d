import { InvalidArgumentError, type Command } from "commander";
import { selectBackend, type BackendPreference } from "../backend.js";
import { backendOption, int, num, oneOf } from "./options.js";
import { dataSourceFrom, formatFilterReport, prepareDataset } from "../data/index.js";
import { LINEAR_NAMES, type LinearName } from "../model/weights.js";
import { profiles } from "../pipeline/config.js";
import { interruptController } from "../train/interrupt.js";
import { describeFormatReport, ProgressBarCallback, runTrainJob, TrainingDivergedError, type ResumeChangeable } from "../train/index.js";

const d = profiles.default;

/** --allow-change: the options a resume may change, and the trainer settings they set. */
const CHANGEABLE: Record<string, ResumeChangeable> = { lr: "learningRate", "max-grad-norm": "maxGradNorm" };
const changeable = (v: string) => {
  const names = v.split(",").map((s) => s.trim());
  for (const n of names) if (!(n in CHANGEABLE)) throw new InvalidArgumentError(`"${n}" cannot change on a resume (use ${Object.keys(CHANGEABLE).join(",")})`);
  return names.map((n) => CHANGEABLE[n]!);
};

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

const targets = (v: string) => {
  const names = v.split(",").map((s) => s.trim());
  for (const n of names) if (!LINEAR_NAMES.includes(n as LinearName)) throw new InvalidArgumentError(`unknown module "${n}" (use ${LINEAR_NAMES.join(",")})`);
  return names as LinearName[];
};

interface TrainCliOptions {
  data: string; limit?: number; validation: number; model: string; tokenizer?: string; outputDir: string;
  method: "lora" | "full"; target: "solution" | "reasoning"; systemPrompt?: string | false; maxSeqLength: number; overLength: "truncate" | "drop";
  batchSize: number; gradAccum: number; lr: number; weightDecay: number; warmupRatio: number; schedule: "cosine" | "linear" | "constant";
  minLrRatio: number; maxGradNorm: number; epochs: number; maxSteps: number; logEvery: number; evalEvery: number; saveEvery: number;
  keepCheckpoints: number; seed: number; loraR: number; loraAlpha: number; loraDropout: number; loraTargets: LinearName[];
  mergedDtype: "bf16" | "f32"; resume?: string | boolean; allowChange?: ResumeChangeable[]; backend: BackendPreference; progress: boolean;
}

/** `openr1 train`: LoRA fine-tuning on OpenR1-Math examples (defaults: the embedded sample and the small random model). */
export function registerTrainCommands(program: Command): void {
  program
    .command("train")
    .description("Fine-tuning (LoRA, or every weight with --method full): format with the chat template, train (AdamW, warmup + cosine), checkpoint, save the adapter and merged model (or the trained model)")
    .option("--data <source>", '"generated", "embedded" (54 real rows), "hub", or a local parquet/jsonl file or folder', d.data.source)
    .option("--limit <n>", "rows to read before filtering", int("--limit", 1))
    .option("--validation <n>", "validation examples: a count (>= 1) or a fraction (< 1)", num("--validation"), d.data.validation)
    .option("--model <source>", '"tiny-math" (shipped), "random-small", a local HF-layout folder, or a Hub repo id', d.model.source)
    .option("--tokenizer <dir>", "tokenizer folder (default: the model's, else the shipped Qwen2.5 tokenizer)")
    .option("--output-dir <dir>", "checkpoints, adapter/ and merged/ go here", "runs/train")
    .option("--method <method>", "lora (adapters on the frozen model) or full (every weight trains)", oneOf("--method", ["lora", "full"] as const), d.train.method)
    .option("--target <source>", "assistant turn: solution or reasoning", oneOf("--target", ["solution", "reasoning"] as const), d.train.target)
    .option("--system-prompt <text>", "system turn (default: open-r1's)")
    .option("--no-system-prompt", "no system turn")
    .option("--max-seq-length <n>", "tokens per example", int("--max-seq-length", 1), d.train.maxSeqLength)
    .option("--over-length <policy>", "longer examples: truncate (keeps prompt + answer) or drop", oneOf("--over-length", ["truncate", "drop"] as const), d.train.overLength)
    .option("--batch-size <n>", "examples per micro-batch", int("--batch-size", 1), d.train.batchSize)
    .option("--grad-accum <n>", "micro-batches per optimizer step", int("--grad-accum", 1), d.train.gradientAccumulation)
    .option("--lr <x>", "peak learning rate", num("--lr"), d.train.learningRate)
    .option("--weight-decay <x>", "AdamW decoupled weight decay", num("--weight-decay"), d.train.weightDecay)
    .option("--warmup-ratio <x>", "warmup steps = ceil(ratio * steps)", num("--warmup-ratio"), d.train.warmupRatio)
    .option("--schedule <kind>", "cosine, linear or constant (after warmup)", oneOf("--schedule", ["cosine", "linear", "constant"] as const), d.train.schedule)
    .option("--min-lr-ratio <x>", "cosine floor as a fraction of the peak", num("--min-lr-ratio"), d.train.minLrRatio)
    .option("--max-grad-norm <x>", "clip gradients to this global norm (0: no clipping)", num("--max-grad-norm"), d.train.maxGradNorm)
    .option("--epochs <x>", "epochs (when --max-steps is not given)", num("--epochs"), d.train.epochs)
    .option("--max-steps <n>", "optimizer steps (0: from --epochs)", int("--max-steps"), d.train.maxSteps ?? 0)
    .option("--log-every <n>", "log every N steps", int("--log-every", 1), d.train.logEvery)
    .option("--eval-every <n>", "validation loss every N steps (0: at the end only)", int("--eval-every"), d.train.evalEvery)
    .option("--save-every <n>", "checkpoint every N steps (0: never)", int("--save-every"), d.train.saveEvery)
    .option("--keep-checkpoints <n>", "checkpoints kept", int("--keep-checkpoints", 1), d.train.keepCheckpoints)
    .option("--seed <n>", "seed of data order, dropout and LoRA init", int("--seed"), d.seed)
    .option("--lora-r <n>", "LoRA rank", int("--lora-r", 1), d.lora.r)
    .option("--lora-alpha <x>", "LoRA alpha (scaling alpha/r)", num("--lora-alpha"), d.lora.alpha)
    .option("--lora-dropout <x>", "LoRA dropout", num("--lora-dropout"), d.lora.dropout)
    .option("--lora-targets <list>", "comma-separated target modules", targets, d.lora.targetModules as LinearName[])
    .option("--merged-dtype <dtype>", "merged model weights: bf16 or f32", oneOf("--merged-dtype", ["bf16", "f32"] as const), d.train.mergedDtype)
    .option("--resume [checkpoint]", 'resume from a checkpoint folder (alone: the latest in --output-dir)')
    .option("--allow-change <options>", "resume with these options changed from the checkpoint's (lr, max-grad-norm; comma-separated): recorded in the later checkpoints", changeable)
    .option(...backendOption, d.backend)
    .option("--no-progress", "no progress bar")
    .action(async (o: TrainCliOptions) => {
      const interrupt = interruptController();
      try {
        const backend = await selectBackend(o.backend);
        console.log(`backend: ${backend.name} (${backend.source})`);
        const data = await prepareDataset(dataSourceFrom(o.data), { limit: o.limit, split: { validation: o.validation, seed: o.seed } });
        console.log(formatFilterReport(data.report));
        const systemPrompt = o.systemPrompt === false ? null : o.systemPrompt;
        const result = await runTrainJob({
          data: data.split,
          model: o.model,
          tokenizerDir: o.tokenizer,
          method: o.method,
          lora: { r: o.loraR, alpha: o.loraAlpha, dropout: o.loraDropout, targetModules: o.loraTargets },
          format: { target: o.target, systemPrompt, maxSeqLength: o.maxSeqLength, overLength: o.overLength },
          trainer: {
            outputDir: o.outputDir, seed: o.seed, batchSize: o.batchSize, gradientAccumulation: o.gradAccum, learningRate: o.lr,
            weightDecay: o.weightDecay, warmupRatio: o.warmupRatio, schedule: o.schedule, minLrRatio: o.minLrRatio, maxGradNorm: o.maxGradNorm,
            epochs: o.epochs, maxSteps: o.maxSteps || null, logEvery: o.logEvery, evalEvery: o.evalEvery, saveEvery: o.saveEvery,
            keepCheckpoints: o.keepCheckpoints,
          },
          mergedDtype: o.mergedDtype,
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
          if (e.usableCheckpoint) console.error(`To resume from it with a tenth of the learning rate:\n  ${recoveryCommand(process.argv.slice(2), e.usableCheckpoint, o.lr)}`);
        } else {
          console.error(`error: ${(e as Error).message}`);
        }
        process.exitCode = 1;
      } finally {
        interrupt.dispose();
      }
    });
}
