import cliProgress from "cli-progress";
import type { MathExample } from "../data/types.js";
import type { TrainerState } from "../train/callbacks.js";
import { lineChartSvg } from "../train/live-display.js";
import { escapeHtml } from "../viz/table-html.js";
import type { HtmlSink } from "../viz/notebook-html.js";
import type { GenerationBatch, GrpoCallback } from "./trainer.js";

const fmt = (x: number | undefined, digits = 3) => (x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits));

/** A terminal progress bar for GRPO: steps, mean reward, completion length, seconds per step, ETA. */
export class GrpoProgressBar implements GrpoCallback {
  private bar?: cliProgress.SingleBar;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  onTrainBegin(_config: Record<string, unknown>, state: TrainerState): void {
    this.bar = new cliProgress.SingleBar(
      { format: "grpo |{bar}| {value}/{total} steps | reward {reward} | length {length} | {secs} s/step | ETA {eta_formatted}", stream: this.stream, hideCursor: true, barsize: 24, etaBuffer: 10 },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(state.maxSteps, state.globalStep, { reward: "-", length: "-", secs: "-" });
  }

  onStepEnd(logs: Record<string, number>, state: TrainerState): void {
    this.bar?.update(state.globalStep, {
      ...(logs.reward !== undefined ? { reward: fmt(logs.reward), length: fmt(logs["completions/mean_length"], 1) } : {}),
      secs: fmt(logs.step_time, 1),
    });
  }

  onTrainEnd(): void {
    this.bar?.stop();
  }
}

/**
 * Live GRPO charts for notebooks, redrawn in one output after every step: the mean reward (and each reward
 * function's), the completion length, and the KL to the reference (with beta > 0) or the policy's entropy, with
 * one sampled completion of the newest batch. `display` defaults to tslab's newDisplay().
 */
export class LiveGrpoDisplay implements GrpoCallback {
  private readonly reward: [number, number][] = [];
  private readonly perFunc = new Map<string, [number, number][]>();
  private readonly length: [number, number][] = [];
  private readonly kl: [number, number][] = [];
  private readonly entropy: [number, number][] = [];
  private status = "";
  private sample = "";

  constructor(private display?: HtmlSink) {}

  async onTrainBegin(_config: Record<string, unknown>, state: TrainerState): Promise<void> {
    if (!this.display) this.display = ((await import("tslab")) as { newDisplay(): HtmlSink }).newDisplay();
    this.status = `starting at step ${state.globalStep} of ${state.maxSteps}`;
    this.render();
  }

  onGenerationBatch(batch: GenerationBatch, examples: MathExample[]): void {
    const best = [...batch.completions].sort((a, b) => (b.reward || 0) - (a.reward || 0))[0];
    const c = batch.completions[0]!;
    this.sample = `problem: ${examples[c.example]!.problem}\nsampled: ${c.text}\n(reward ${fmt(c.reward, 2)}, advantage ${fmt(c.advantage, 2)}; best in batch ${fmt(best?.reward, 2)})`;
  }

  onStepEnd(logs: Record<string, number>, state: TrainerState): void {
    const s = state.globalStep;
    if (logs.reward !== undefined) {
      this.reward.push([s, logs.reward]);
      for (const [k, v] of Object.entries(logs)) {
        const m = /^rewards\/(.+)\/mean$/.exec(k);
        if (m) (this.perFunc.get(m[1]!) ?? this.perFunc.set(m[1]!, []).get(m[1]!)!).push([s, v]);
      }
      this.length.push([s, logs["completions/mean_length"]!]);
    }
    if (logs.kl !== undefined) this.kl.push([s, logs.kl]);
    if (logs.entropy !== undefined) this.entropy.push([s, logs.entropy]);
    this.status = `step ${s}/${state.maxSteps} · reward ${fmt(logs.reward)} · length ${fmt(logs["completions/mean_length"], 1)} · ` +
      `loss ${fmt(logs.loss, 4)} · ${fmt(logs.step_time, 1)} s/step`;
    this.render();
  }

  onTrainEnd(summary: Record<string, number>): void {
    this.status = `done: ${summary.global_step} steps in ${fmt(summary.train_runtime, 1)} s`;
    this.render();
  }

  /** The current HTML (also what is displayed). */
  html(): string {
    const colors = ["#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
    const rewards = [{ name: "reward", color: "#1f77b4", points: this.reward }, ...[...this.perFunc].map(([name, points], i) => ({ name, color: colors[i % colors.length]!, points }))];
    const third = this.kl.length ? lineChartSvg("KL to the reference", [{ name: "kl", color: "#d62728", points: this.kl }]) : lineChartSvg("entropy (nats/token)", [{ name: "entropy", color: "#d62728", points: this.entropy }]);
    return `<div><div style="font:12px monospace;margin-bottom:4px">${escapeHtml(this.status)}</div><div style="display:flex;gap:8px;flex-wrap:wrap">` +
      lineChartSvg("mean reward", rewards) + lineChartSvg("completion length (tokens)", [{ name: "mean", color: "#2ca02c", points: this.length }]) + third +
      `</div><pre style="font-size:11px;white-space:pre-wrap;margin-top:4px">${escapeHtml(this.sample)}</pre></div>`;
  }

  private render(): void {
    this.display?.html(this.html());
  }
}
