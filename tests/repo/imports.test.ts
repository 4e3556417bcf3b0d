// The library's import graph: no cycles between files (type-only imports included), and no module importing from a
// layer above its own — the stages stack as the pipeline runs, with the shared helpers below them all. A new top-level
// module or folder must be placed in LAYERS. And one file-naming style: kebab-case.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/** Lowest first: a module may import from its own layer (without a cycle) and from the layers below. */
const LAYERS: string[][] = [
  ["backend-names", "generation-defaults", "assets", "rng", "progress", "files", "environment", "settings"],
  ["hub", "webgpu", "kernels", "tokenizer", "viz"],
  ["backend", "model", "data"],
  ["train"],
  ["tracking"],
  ["eval"],
  ["serve", "pretrain", "rl"],
  ["pipeline"],
  ["export"],
  ["cli", "index"],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "dist" || name === "assets" ? [] : sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The top-level module or folder a file belongs to: src/model/qwen2.ts -> "model", src/cli.ts -> "cli". */
function unit(file: string): string {
  const [first, ...rest] = relative(SRC, file).split("/");
  return rest.length ? first! : first!.replace(/\.ts$/, "");
}

/** Every relative import of a file (static, dynamic, type-only, re-exports), as resolved .ts paths. */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g), ...text.matchAll(/import\("(\.[^"]+)"\)/g)].map((m) => m[1]!);
  return specs.map((s) => normalize(join(dirname(file), s.replace(/\.js$/, ".ts"))));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, imports(f).filter((t) => t.startsWith(SRC))]));
const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

test("every top-level module and folder of src/ has a layer", () => {
  const units = [...new Set(files.map(unit))].sort();
  assert.deepEqual(units.filter((u) => !layerOf.has(u)), [], "add these to LAYERS in tests/repo/imports.test.ts");
});

test("no module imports from a layer above its own", () => {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    for (const t of targets) {
      const [from, to] = [unit(file), unit(t)];
      if ((layerOf.get(to) ?? 0) > (layerOf.get(from) ?? 0)) upward.push(`${relative(SRC, file)} -> ${relative(SRC, t)} (${from} imports ${to})`);
    }
  }
  assert.deepEqual(upward, []);
});

test("no import cycles between files, type-only imports included", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    path.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === "open") cycles.push([...path.slice(path.indexOf(t)), t].map((p) => relative(SRC, p)).join(" -> "));
      else if (!state.has(t)) visit(t);
    }
    path.pop();
    state.set(f, "done");
  };
  for (const f of files) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

test("file names are kebab-case", () => {
  const root = dirname(SRC);
  const named = ["src", "tests", "bench", "tools", "environment"].flatMap((d) => sourceFiles(join(root, d)));
  assert.deepEqual(named.map((f) => basename(f)).filter((n) => /[A-Z_]/.test(n.replace(/\.test\.ts$|\.ts$/, ""))), []);
});
