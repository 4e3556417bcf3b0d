import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkNotebookPages } from "../../environment/check-notebook-html.js";
import { chartHtml, NotebookCharts, type Figure } from "../../src/viz/index.js";

const chromium = existsSync(process.env.CHROMIUM ?? "/usr/bin/chromium");
const fig: Figure = { data: [{ type: "scatter", x: [1, 2, 3], y: [2, 1, 3] }], layout: { title: { text: "t" } } };
const page = (body: string) => `<!doctype html><html><body>${body}</body></html>`;

test("the headless-Chromium check passes drawn charts and fails charts that did not draw or show no data, error text and NaN", { skip: !chromium && "no Chromium (environment/setup.sh installs Debian's)", timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-browser-"));
  try {
    const charts = new NotebookCharts();
    const good = join(dir, "good.html");
    writeFileSync(good, page(charts.init() + charts.html(fig) + charts.html(fig)));
    const noPlotly = join(dir, "no-plotly.html");
    writeFileSync(noPlotly, page(chartHtml(fig, { id: "lonely" })));
    const errored = join(dir, "errored.html");
    writeFileSync(errored, page(`${charts.init()}${charts.html(fig)}<div data-mime-type="application/vnd.jupyter.stderr">Error: the data folder is missing</div>`));
    const empty = join(dir, "empty.html");
    const nothing: Figure = { data: [{ type: "scatter", x: [], y: [] }, { type: "bar", x: [], y: [NaN] }], layout: {} };
    writeFileSync(empty, page(`${charts.init()}<div class="jp-OutputArea-output">${charts.html(nothing)}</div>`));
    const notANumber = join(dir, "nan.html");
    writeFileSync(notANumber, page(`<div class="jp-OutputArea-output"><pre>accuracy: NaN%</pre></div>`));
    const [ok, missing, error, blank, nan] = await checkNotebookPages([good, noPlotly, errored, empty, notANumber], { timeoutMs: 3_000 });
    assert.deepEqual(ok, { file: good, charts: 2, problems: [] });
    assert.equal(missing!.problems.length, 1);
    assert.match(missing!.problems[0]!, /chart lonely did not draw/);
    assert.deepEqual(error!.problems, ["error text in an output: Error: the data folder is missing"]);
    assert.equal(blank!.problems.length, 1, blank!.problems.join("\n"));
    assert.match(blank!.problems[0]!, /chart openr1-plot-\w+ is empty: no data point to draw/);
    assert.deepEqual(nan!.problems, ["NaN in an output: accuracy: NaN%"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
