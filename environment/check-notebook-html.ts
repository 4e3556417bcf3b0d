/**
 * Opens each notebook's HTML export (runs/notebooks/*.html, written by `npm run notebooks`) in headless Chromium
 * (Debian's, driven by playwright-core) and fails unless every chart has drawn a plot area with a non-zero size and
 * some data to show, and no error shows: no script error on the page, no "plotly.js is not loaded", no error text and
 * no NaN in a cell's output.
 *
 * Usage: node --import tsx environment/check-notebook-html.ts FILE.html ...
 */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export interface PageCheck {
  file: string;
  charts: number;
  problems: string[];
}

export async function checkNotebookPages(files: string[], options: { timeoutMs?: number } = {}): Promise<PageCheck[]> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (bash environment/setup.sh does) or set CHROMIUM`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  const checks: PageCheck[] = [];
  try {
    for (const file of files) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(`script error: ${e.message}`));
      await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
      const count = await page.locator(".openr1-plot").count();
      // Charts draw once plotly.js has run: wait until each has its SVG (or the wait gives up and reports it).
      // (Page code is given as text: it runs in the browser, and this file is type-checked for Node.)
      await page
        .waitForFunction(`[...document.querySelectorAll(".openr1-plot")].every((el) => el.querySelector(".main-svg") || el.textContent)`, undefined, { timeout: options.timeoutMs ?? 20_000 })
        .catch(() => {});
      // A chart that drew but shows nothing (every trace empty, or no value a number) is as useless as one that did not.
      const charts = (await page.evaluate(`[...document.querySelectorAll(".openr1-plot")].map((el) => {
          const area = el.querySelector(".main-svg")?.getBoundingClientRect();
          const values = (el.data ?? []).flatMap((t) => [...(t.x ?? []), ...(t.y ?? []), ...(t.values ?? [])]);
          const points = values.filter((v) => typeof v === "string" || (typeof v === "number" && Number.isFinite(v))).length;
          return { id: el.id, width: area?.width ?? 0, height: area?.height ?? 0, points, text: (el.textContent ?? "").slice(0, 120) };
        })`)) as { id: string; width: number; height: number; points: number; text: string }[];
      for (const c of charts) {
        if (!(c.width > 0 && c.height > 0)) problems.push(`chart ${c.id} did not draw${c.text ? `: ${c.text}` : ""}`);
        else if (c.points === 0) problems.push(`chart ${c.id} is empty: no data point to draw`);
      }
      const outputs = `[...document.querySelectorAll(".jp-OutputArea-output, .output_subarea")]`;
      const notANumber = (await page.evaluate(`${outputs}.map((el) => el.innerText ?? "").filter((t) => /\\bNaN\\b/.test(t))`)) as string[];
      for (const t of notANumber) problems.push(`NaN in an output: ${t.trim().slice(0, 200)}`);
      const errorText = (await page.evaluate(`[...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"], .output_stderr, .jp-OutputArea-output.jp-mod-error, .output_error')]
          .map((el) => (el.textContent ?? "").trim())
          .filter((t) => /\\b\\w*Error\\b|not loaded|Unhandled|Exception/.test(t))`)) as string[];
      for (const t of errorText) problems.push(`error text in an output: ${t.slice(0, 200)}`);
      checks.push({ file, charts: count, problems });
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return checks;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error("usage: check-notebook-html.ts FILE.html ...");
  const checks = await checkNotebookPages(files);
  for (const c of checks) console.log(`${c.problems.length ? "FAILED" : "ok"}: ${c.file}: ${c.charts} charts${c.problems.map((p) => `\n  ${p}`).join("")}`);
  if (checks.some((c) => c.problems.length)) process.exit(1);
}
