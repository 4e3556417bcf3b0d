import type { HtmlSink } from "../viz/notebook-html.js";
import type { TrainerCallback, TrainerState } from "./callbacks.js";

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot" }[c]};`);

/** A self-contained SVG line chart (no script, so it renders in saved notebooks and headless runs). */
export function lineChartSvg(title: string, series: Series[], opts: { width?: number; height?: number; xLabel?: string } = {}): string {
  const W = opts.width ?? 420;
  const H = opts.height ?? 220;
  const m = { l: 62, r: 12, t: 24, b: 34 };
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (y1 - y0 < 1e-12) [y0, y1] = [y0 - 0.5 * Math.abs(y0 || 1), y1 + 0.5 * Math.abs(y1 || 1)];
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const ticks = [y0, (y0 + y1) / 2, y1];
  const decimals = Math.min(8, Math.max(0, Math.ceil(-Math.log10(y1 - y0)) + 1));
  const small = Math.max(Math.abs(y0), Math.abs(y1)) < 1e-2;
  const label = (y: number) => (small && y !== 0 ? y.toExponential(1) : y.toFixed(decimals));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" style="font:11px sans-serif">`,
    `<text x="${W / 2}" y="14" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#888"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#888"/>`,
    ...ticks.map((t) => `<text x="${m.l - 4}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`),
    `<text x="${m.l}" y="${H - m.b + 14}">${x0}</text><text x="${W - m.r}" y="${H - m.b + 14}" text-anchor="end">${x1}</text>`,
    `<text x="${(W + m.l) / 2}" y="${H - 4}" text-anchor="middle">${esc(opts.xLabel ?? "step")}</text>`,
  ];
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length === 1) parts.push(`<circle cx="${px(pts[0]![0]).toFixed(1)}" cy="${py(pts[0]![1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    if (pts.length > 1) {
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.8" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")}"/>`);
    }
    parts.push(`<text x="${W - m.r - 4}" y="${m.t + 12 + 13 * i}" text-anchor="end" fill="${s.color}">${esc(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}

/**
 * Live training charts for notebooks: loss (train per step, validation) and learning rate, redrawn in place
 * after every step, in one output that each redraw overwrites. `display` defaults to tslab's newDisplay()
 * (loaded lazily: only notebooks need tslab).
 */
export class LiveTrainingDisplay implements TrainerCallback {
  private readonly loss: [number, number][] = [];
  private readonly evalLoss: [number, number][] = [];
  private readonly lr: [number, number][] = [];
  private status = "";
  private display?: HtmlSink;

  private stepsHere = 0;

  /**
   * `earlier`: the run's history rows before this call (a resumed run's record: `train/global_step`, `train/loss`,
   * `train/learning_rate`, `eval/loss`), drawn first, so the charts show the whole run, not only its last part.
   */
  constructor(display?: HtmlSink, earlier: readonly Record<string, unknown>[] = []) {
    this.display = display;
    for (const row of earlier) {
      const step = row["train/global_step"] ?? row._step;
      if (typeof step !== "number") continue;
      const at = (key: string, into: [number, number][]) => typeof row[key] === "number" && into.push([step, row[key] as number]);
      at("train/loss", this.loss);
      at("train/learning_rate", this.lr);
      at("eval/loss", this.evalLoss);
    }
  }

  async onTrainBegin(_config: Record<string, unknown>, state: TrainerState): Promise<void> {
    if (!this.display) {
      const tslab = (await import("tslab")) as { newDisplay(): HtmlSink };
      this.display = tslab.newDisplay();
    }
    this.status = state.globalStep >= state.maxSteps ? `already complete: step ${state.globalStep} of ${state.maxSteps}` : `starting at step ${state.globalStep} of ${state.maxSteps}`;
    // A resumed run redraws from its checkpoint: what the earlier part logged after it is logged again.
    for (const series of [this.loss, this.lr, this.evalLoss]) series.splice(0, series.length, ...series.filter(([x]) => x <= state.globalStep));
    this.render();
  }

  onStepEnd(logs: Record<string, number>, state: TrainerState): void {
    this.stepsHere++;
    this.loss.push([state.globalStep, logs.loss!]);
    this.lr.push([state.globalStep, logs.learning_rate!]);
    this.status = `step ${state.globalStep}/${state.maxSteps} · loss ${logs.loss!.toFixed(4)} · lr ${logs.learning_rate!.toExponential(2)} · ` +
      `grad norm ${logs.grad_norm!.toFixed(3)} · ${Math.round(logs.tokens_per_second!)} tokens/s`;
    this.render();
  }

  onEvaluate(metrics: Record<string, number>, state: TrainerState): void {
    this.evalLoss.push([state.globalStep, metrics.eval_loss!]);
    this.render();
  }

  onTrainEnd(summary: Record<string, number>): void {
    this.status = `done: step ${summary.global_step}, ${this.stepsHere} of them here in ${summary.train_runtime!.toFixed(1)} s, mean train loss ${summary.train_loss!.toFixed(4)}` +
      (summary.eval_loss !== undefined ? `, final validation loss ${summary.eval_loss.toFixed(4)}` : "");
    this.render();
  }

  /** The current HTML (also what is displayed). */
  html(): string {
    return `<div><div style="font:12px monospace;margin-bottom:4px">${esc(this.status)}</div><div style="display:flex;gap:8px;flex-wrap:wrap">` +
      lineChartSvg("loss", [{ name: "train", color: "#1f77b4", points: this.loss }, { name: "validation", color: "#d62728", points: this.evalLoss }]) +
      lineChartSvg("learning rate", [{ name: "lr", color: "#2ca02c", points: this.lr }]) +
      "</div></div>";
  }

  private render(): void {
    this.display?.html(this.html());
  }
}
