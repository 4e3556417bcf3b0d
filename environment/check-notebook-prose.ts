/**
 * The numbers a notebook's prose quotes must be the ones its cells print: every number in a markdown cell of an
 * executed notebook (runs/notebooks/*.ipynb, written by `npm run notebooks`) has to appear in the notebook's
 * outputs as printed, or rounded from one where the prose says so ("about 77 %" reads an output 77.3; "below 0.2" does
 * not read 0.204). Not checked: code (`inline`, fenced
 * blocks, <code>), headings, list numbers, link targets, digits inside names (Qwen2.5, 0.5B, 220k), single digits, notebook numbers (02).
 * Settings the prose names are written as code (`maxSeqLength` `256`); anything measured is printed by a cell.
 * The outputs name no folder of the machine they ran on: a path under the checkout is printed relative to it.
 *
 * Usage: node --import tsx environment/check-notebook-prose.ts EXECUTED.ipynb ...
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface Cell {
  cell_type: string;
  id?: string;
  source: string | string[];
  outputs?: { output_type: string; text?: string | string[]; data?: Record<string, string | string[]> }[];
}

const text = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join("") : (s ?? ""));

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", nbsp: " " };
const plainHtml = (html: string) =>
  html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, e: string) => ENTITIES[e]!);

/** Every number in a text, thousands separators dropped ("1,880" → "1880"). */
function numbersIn(s: string): string[] {
  return [...s.matchAll(/\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?/g)].map((m) => m[0].replace(/,/g, ""));
}

/** What a notebook's cells printed, as one text: streams, text/plain and text/html (without scripts and tags). */
export function outputText(cells: Cell[]): string {
  return cells
    .flatMap((c) => c.outputs ?? [])
    .map((o) => [text(o.text), text(o.data?.["text/plain"]), plainHtml(text(o.data?.["text/html"]))].join("\n"))
    .join("\n");
}

/** The numbers a markdown cell quotes, each with a little context. */
export function proseNumbers(markdown: string): { value: string; approximate: boolean; context: string }[] {
  const prose = markdown
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/`[^`]*`/g, " ")
    .replace(/<code>[\s\S]*?<\/code>/g, " ")
    .replace(/\]\([^)]*\)/g, "]")
    .replace(/https?:\/\/\S+/g, " ")
    .replace(/<[^>]+>/g, " ")
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .map((line) => line.replace(/^\s*\d+\.\s/, ""))
    .join("\n");
  const found: { value: string; approximate: boolean; context: string }[] = [];
  for (const m of prose.matchAll(/(?<![\w.\-–/·])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w]|[.,]\d)/g)) {
    const value = `${m[1]!.replace(/,/g, "")}${m[2] ?? ""}`;
    // Single digits count things ("4 layers"); 02, 05 are notebooks.
    if (!m[2] && (value.length === 1 || value.startsWith("0"))) continue;
    const at = m.index ?? 0;
    const approximate = /(about|around|nearly|almost|roughly|≈|~)\s*$/i.test(prose.slice(Math.max(0, at - 12), at));
    found.push({ value, approximate, context: prose.slice(Math.max(0, at - 40), at + m[0].length + 20).replace(/\s+/g, " ").trim() });
  }
  return found;
}

/** Whether an output shows `value`: exactly, or (`approximate`) rounded to as many decimals as the prose gives. */
function shown(value: string, approximate: boolean, outputs: Set<string>, decimals: Map<number, Set<string>>): boolean {
  if (outputs.has(value)) return true;
  if (!approximate) return false;
  const places = value.includes(".") ? value.split(".")[1]!.length : 0;
  return decimals.get(places)?.has(value) ?? false;
}

/** Each number of the prose that no output shows, naming the cell. */
export function proseNumberProblems(notebook: { cells: Cell[] }): string[] {
  const printed = numbersIn(outputText(notebook.cells));
  const outputs = new Set(printed);
  const decimals = new Map<number, Set<string>>();
  for (let places = 0; places <= 4; places++) {
    decimals.set(places, new Set(printed.filter((n) => n.includes(".")).map((n) => Number(n).toFixed(places))));
  }
  const problems: string[] = [];
  notebook.cells.forEach((cell, i) => {
    if (cell.cell_type !== "markdown") return;
    for (const { value, approximate, context } of proseNumbers(text(cell.source))) {
      if (!shown(value, approximate, outputs, decimals)) problems.push(`markdown cell ${i} (id ${cell.id ?? "?"}): ${value} is in no output of the notebook — "…${context}…"`);
    }
  });
  return problems;
}

/** Each code cell whose output shows `root` (the checkout's absolute path): a reader's copy names their folders, not the author's. */
export function absolutePathProblems(notebook: { cells: Cell[] }, root: string): string[] {
  const problems: string[] = [];
  notebook.cells.forEach((cell, i) => {
    if (cell.cell_type === "code" && outputText([cell]).includes(root)) {
      problems.push(`code cell ${i} (id ${cell.id ?? "?"}): its output shows the path ${root}; print paths relative to the checkout`);
    }
  });
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error("usage: check-notebook-prose.ts EXECUTED.ipynb ...");
  let failed = false;
  for (const file of files) {
    const notebook = JSON.parse(readFileSync(file, "utf8")) as { cells: Cell[] };
    const problems = [...proseNumberProblems(notebook), ...absolutePathProblems(notebook, process.cwd())];
    console.log(`${problems.length ? "FAILED" : "ok"}: ${file}: the numbers of the prose, no absolute paths${problems.map((p) => `\n  ${p}`).join("")}`);
    failed ||= problems.length > 0;
  }
  if (failed) process.exit(1);
}
