import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import vm from "node:vm";
import { NotebookCharts, chartHtml, tableHtml, type Figure } from "../../src/viz/index.js";

const plotlySource = readFileSync(createRequire(import.meta.url).resolve("plotly.js-dist-min"), "utf8");
const PLOTLY_MARK = "window.Plotly = Plotly"; // appears once in plotly.min.js

// Objects made inside a vm context have that context's prototypes: compare their JSON.
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

/** Runs the chart scripts of an HTML page against a fake DOM and a stub Plotly; returns what was drawn where. */
function renderCharts(html: string): { id: string; data: unknown; layout: unknown }[] {
  const drawn: { id: string; data: unknown; layout: unknown }[] = [];
  const ids = [...html.matchAll(/<div id="(openr1-plot-[^"]+)"/g)].map((m) => m[1]);
  const window = { Plotly: { newPlot: (el: { id: string }, data: unknown, layout: unknown) => drawn.push(plain({ id: el.id, data, layout })) } };
  const document = { getElementById: (id: string) => (ids.includes(id) ? { id } : null) };
  for (const m of html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)) {
    if (m[1].includes("openr1-plot")) vm.runInNewContext(m[1], { window, document, setTimeout });
  }
  return drawn;
}

const fig = (name: string): Figure => ({
  data: [{ type: "scatter", x: [1, 2], y: [3, 4], name }],
  layout: { title: { text: `a title with </script><b>tags</b> and \u2028 in it (${name})` } },
});

test("plotly.js goes out once per notebook session, with the first chart; every chart draws its own figure", () => {
  const charts = new NotebookCharts();
  const first = charts.html(fig("one"));
  const second = charts.html(fig("two"));
  assert.equal(count(first, PLOTLY_MARK), 1);
  assert.ok(first.includes(`<script type="text/javascript">${plotlySource}</script>`), "the package's plotly.min.js, unmodified");
  assert.equal(count(second, PLOTLY_MARK), 0);
  const drawn = renderCharts(first + second);
  assert.equal(drawn.length, 2);
  assert.deepEqual(drawn.map((d) => d.data), [fig("one").data, fig("two").data]);
  assert.deepEqual(drawn[0].layout, fig("one").layout, "text that looks like HTML survives the round trip");
  assert.notEqual(drawn[0].id, drawn[1].id);
});

test("with initCharts (a notebook's first cell), plotly.js lives in that cell's output and no chart carries it: re-running a chart cell keeps every chart drawable", () => {
  const charts = new NotebookCharts();
  const init = charts.init();
  assert.equal(count(init, PLOTLY_MARK), 1);
  const first = charts.html(fig("one"));
  const rerun = charts.html(fig("one"));
  assert.equal(count(first, PLOTLY_MARK) + count(rerun, PLOTLY_MARK), 0);
  // The saved notebook after re-running the chart cell: the first cell's output, then the new chart output.
  assert.deepEqual(renderCharts(init + rerun).map((d) => d.data), [fig("one").data]);
  assert.equal(count(charts.init(), PLOTLY_MARK), 1, "re-running the first cell sends it again");
});

test("tables show raw strings as they are: blanks named, long words wrapped, tall cells scrolled, MathJax kept out", () => {
  const html = tableHtml({ columns: ["prediction"], data: [[" \n".repeat(4000)], ["$\\boxed{1}$"], ["x".repeat(300)], ["a\n\n\n\n\nb"]] }, { maxChars: 1000 });
  assert.match(html, /<em>\(8000 blank characters\)<\/em>/);
  assert.match(html, /class="openr1-table tex2jax_ignore mathjax_ignore"/);
  assert.match(html, /overflow-wrap:anywhere/);
  assert.match(html, /max-height:16em;overflow:auto/);
  assert.ok(html.includes("a\n\nb"), "runs of blank lines shortened");
});

test("tables escape their cells", () => {
  const html = tableHtml({ columns: ["problem", "correct"], data: [["<script>alert(1)</script> & x", true], ["y".repeat(10), false]] }, { maxChars: 5 });
  assert.ok(!html.includes("<script>"));
  assert.ok(html.includes("&lt;scri…"));
  assert.ok(html.includes("✓") && html.includes("✗"));
  assert.ok(html.includes(`title="yyyyyyyyyy"`));
});

const nbconvert = "/usr/bin/jupyter-nbconvert";
test("charts render from an nbconvert --to html export, which holds a single plotly.js", { skip: !existsSync(nbconvert) && "no nbconvert", timeout: 120_000 }, () => {
  const charts = new NotebookCharts();
  const output = (html: string) => ({ output_type: "display_data", data: { "text/html": html, "text/plain": "" }, metadata: {} });
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    cells: ["one", "two", "three"].map((name, i) => ({
      id: `c${i}`,
      cell_type: "code",
      execution_count: i + 1,
      metadata: {},
      source: `showFigure(${name})`,
      outputs: [output(charts.html(fig(name)))],
    })),
  };
  const dir = mkdtempSync(join(tmpdir(), "openr1-nbhtml-"));
  writeFileSync(join(dir, "charts.ipynb"), JSON.stringify(notebook));
  execFileSync(nbconvert, ["--to", "html", "--output-dir", dir, join(dir, "charts.ipynb")], { stdio: "pipe" });
  const page = readFileSync(join(dir, "charts.html"), "utf8");
  assert.equal(count(page, PLOTLY_MARK), 1, "one plotly.js in the page");
  assert.ok(page.includes(plotlySource), "inlined intact");
  const drawn = renderCharts(page);
  assert.deepEqual(drawn.map((d) => (d.data as { name: string }[])[0].name), ["one", "two", "three"]);
});

test("a chart waits for plotly.js instead of failing when its script runs first", async () => {
  const html = chartHtml(fig("late"), { id: "openr1-plot-late" });
  const drawn: unknown[] = [];
  const window: { Plotly?: unknown } = {};
  const document = { getElementById: () => ({ id: "openr1-plot-late" }) };
  vm.runInNewContext(html.match(/<script[^>]*>([\s\S]*?)<\/script>/)![1], { window, document, setTimeout });
  window.Plotly = { newPlot: (_el: unknown, data: unknown) => drawn.push(plain(data)) };
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(drawn, [fig("late").data]);
});
