import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Figure } from "./figure.js";

/** Where HTML goes: tslab's `display` (or anything with an `html` method). */
export interface HtmlSink {
  html(html: string): void;
}

const require = createRequire(import.meta.url);

/** Makes JSON safe inside a <script> element (no `</script>`, no U+2028/2029 line breaks). */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** plotly.js (plotly.js-dist-min, ≈4.8 MB) in one <script> element; it defines window.Plotly. */
export function plotlyScriptHtml(): string {
  const source = readFileSync(require.resolve("plotly.js-dist-min"), "utf8");
  if (/<\/script/i.test(source)) throw new Error("plotly.js-dist-min contains </script and cannot be inlined");
  return `<script type="text/javascript">${source}</script>`;
}

/**
 * One chart: a div and a script that draws into it once window.Plotly exists (waiting up to ~10 s, so the
 * order in which a browser runs output scripts does not matter), in the notebook and in an
 * `nbconvert --to html` export alike.
 */
export function chartHtml(fig: Figure, options: { height?: number; id?: string } = {}): string {
  const id = options.id ?? `openr1-plot-${randomBytes(6).toString("hex")}`;
  const height = options.height ?? 420;
  return (
    `<div id="${id}" class="openr1-plot" style="width:100%;height:${height}px"></div>` +
    `<script type="text/javascript">(function(){var fig=${scriptSafeJson(fig)};var tries=0;` +
    `function draw(){var el=document.getElementById(${JSON.stringify(id)});if(!el)return;` +
    `if(window.Plotly){window.Plotly.newPlot(el,fig.data,fig.layout,{responsive:true});}` +
    `else if(tries++<100){setTimeout(draw,100);}` +
    `else{el.textContent="plotly.js is not loaded: run the notebook's first code cell (it calls initCharts()), then this one";}}draw();})();</script>`
  );
}

/**
 * Where plotly.js goes. After `init()` (a notebook's first code cell calls `initCharts()`, as plotly.py's
 * init_notebook_mode), that cell's output holds it and no chart carries it: any chart cell can be re-run and the
 * saved notebook still draws every chart, since re-running the first cell sends it again. Without `init()`, the
 * session's first chart carries it (one copy per kernel process).
 */
export class NotebookCharts {
  private plotlyEmitted = false;

  /** plotly.js, for the output of the cell that calls it. */
  init(): string {
    this.plotlyEmitted = true;
    return plotlyScriptHtml();
  }

  html(fig: Figure, options: { height?: number } = {}): string {
    const loader = this.plotlyEmitted ? "" : plotlyScriptHtml();
    this.plotlyEmitted = true;
    return loader + chartHtml(fig, options);
  }
}

const SESSION = Symbol.for("openr1.viz.notebookCharts");
type WithSession = typeof globalThis & { [SESSION]?: NotebookCharts };

/** The process's NotebookCharts, shared by every copy of this module the kernel may have loaded. */
export function notebookCharts(): NotebookCharts {
  return ((globalThis as WithSession)[SESSION] ??= new NotebookCharts());
}

function tslabDisplay(): HtmlSink {
  return (require("tslab") as { display: HtmlSink }).display;
}

/** Sends plotly.js with this cell's output: call it in a notebook's first code cell, before any chart. */
export function initCharts(display: HtmlSink = tslabDisplay()): void {
  display.html(notebookCharts().init());
}

/** Shows a figure inline in a tslab notebook (plotly.js comes from `initCharts()`, else with the session's first figure). */
export function showFigure(fig: Figure, options: { height?: number; display?: HtmlSink } = {}): void {
  (options.display ?? tslabDisplay()).html(notebookCharts().html(fig, options));
}

/** Shows any HTML (e.g. `tableHtml`) inline in a tslab notebook. */
export function showHtml(html: string, display: HtmlSink = tslabDisplay()): void {
  display.html(html);
}
