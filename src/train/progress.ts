import cliProgress from "cli-progress";
import type { TrainerCallback, TrainerState } from "./callbacks.js";

const fmt = (x: number | undefined, digits = 4) => (x === undefined || !Number.isFinite(x) ? "-" : x.toPrecision(digits));

/** A terminal progress bar: steps, loss, learning rate, tokens/s, ETA (and the last validation loss). */
export class ProgressBarCallback implements TrainerCallback {
  private bar?: cliProgress.SingleBar;
  private evalLoss?: number;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  onTrainBegin(_config: Record<string, unknown>, state: TrainerState): void {
    this.bar = new cliProgress.SingleBar(
      {
        format: "train |{bar}| {value}/{total} steps | loss {loss} | eval {eval} | lr {lr} | {tps} tok/s | ETA {eta_formatted}",
        stream: this.stream,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(state.maxSteps, state.globalStep, { loss: "-", eval: "-", lr: "-", tps: "-" });
  }

  onStepEnd(logs: Record<string, number>, state: TrainerState): void {
    this.bar?.update(state.globalStep, {
      loss: fmt(logs.loss),
      eval: fmt(this.evalLoss),
      lr: logs.learning_rate?.toExponential(2) ?? "-",
      tps: Math.round(logs.tokens_per_second ?? 0),
    });
  }

  onEvaluate(metrics: Record<string, number>): void {
    this.evalLoss = metrics.eval_loss;
  }

  onTrainEnd(): void {
    this.bar?.stop();
  }
}
