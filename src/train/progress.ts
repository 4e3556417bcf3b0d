import cliProgress from "cli-progress";
import type { TrainerCallback, TrainerState } from "./callbacks.js";

const fmt = (x: number | undefined, digits = 4) => (x === undefined || !Number.isFinite(x) ? "-" : x.toPrecision(digits));

// From richest to plainest: the first that fits the terminal with a bar of at least 10 cells is used.
const FORMATS = [
  "train |{bar}| {value}/{total} steps | loss {loss} | eval {eval} | lr {lr} | {tps} tok/s | ETA {eta_formatted}",
  "train |{bar}| {value}/{total} | loss {loss} | eval {eval} | {tps} tok/s | ETA {eta_formatted}",
  "train |{bar}| {value}/{total} | loss {loss} | eval {eval} | ETA {eta_formatted}",
  "{bar} {value}/{total} loss {loss} ETA {eta_formatted}",
];
const FIELD_WIDTH: Record<string, number> = { loss: 6, eval: 6, lr: 8, tps: 6, eta_formatted: 6 };

/** The richest format that fits `columns`, and the bar width that fills them (at most 40). */
export function progressLayout(columns: number, maxSteps: number): { format: string; barsize: number } {
  const width = (f: string) =>
    f.replace("{bar}", "").replace(/\{(\w+)\}/g, (_, k: string) => (k === "value" || k === "total" ? "9".repeat(String(maxSteps).length) : "x".repeat(FIELD_WIDTH[k] ?? 6))).length;
  const format = FORMATS.find((f) => width(f) + 10 < columns) ?? FORMATS.at(-1)!;
  return { format, barsize: Math.max(10, Math.min(40, columns - 1 - width(format))) };
}

/** A terminal progress bar: steps, loss, validation loss, learning rate, tokens/s and the ETA, as the terminal's width allows. */
export class ProgressBarCallback implements TrainerCallback {
  private bar?: cliProgress.SingleBar;
  private evalLoss?: number;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  onTrainBegin(_config: Record<string, unknown>, state: TrainerState): void {
    const layout = progressLayout(this.stream.columns ?? 80, state.maxSteps);
    this.bar = new cliProgress.SingleBar(
      {
        ...layout,
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
