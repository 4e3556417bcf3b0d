import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { PlotlyFigure } from "./figures.js";

export interface HtmlDisplay {
  html(html: string): void;
}

const require = createRequire(import.meta.url);
let plotlyInlined = false;

/** The HTML of one figure; plotly.js itself (≈4.6 MB) is inlined only in the first one of the kernel session. */
export function plotlyHtml(fig: PlotlyFigure, height = 420): string {
  let html = "";
  if (!plotlyInlined) {
    const source = readFileSync(require.resolve("plotly.js-dist-min"), "utf8").replace(/<\/script/gi, "<\\/script");
    html += `<script type="text/javascript">${source}</script>`;
    plotlyInlined = true;
  }
  const id = `openr1-plot-${randomUUID()}`;
  const json = JSON.stringify(fig).replace(/</g, "\\u003c");
  html += `<div id="${id}" style="width:100%;height:${height}px"></div>`;
  html += `<script type="text/javascript">(function(){var f=${json};window.Plotly.newPlot("${id}",f.data,f.layout,{responsive:true});})();</script>`;
  return html;
}

/** Shows a plotly figure inline in a tslab notebook (or through the given display). */
export function showPlotly(fig: PlotlyFigure, options: { height?: number; display?: HtmlDisplay } = {}): void {
  const display = options.display ?? (require("tslab") as { display: HtmlDisplay }).display;
  display.html(plotlyHtml(fig, options.height));
}
