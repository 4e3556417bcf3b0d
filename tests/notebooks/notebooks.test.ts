import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const notebooks = readdirSync(join(ROOT, "notebooks")).filter((f) => /^\d\d_.*\.ipynb$/.test(f));

test("the committed notebooks carry no outputs or execution counts (executed copies go to runs/notebooks/)", () => {
  assert.ok(notebooks.length >= 5);
  for (const name of notebooks) {
    const nb = JSON.parse(readFileSync(join(ROOT, "notebooks", name), "utf8")) as { cells: { cell_type: string; outputs?: unknown[]; execution_count?: number | null }[] };
    for (const [i, cell] of nb.cells.entries()) {
      if (cell.cell_type !== "code") continue;
      assert.deepEqual(cell.outputs, [], `${name} cell ${i} has outputs: clear them before committing`);
      assert.equal(cell.execution_count, null, `${name} cell ${i} has an execution count`);
    }
  }
});

const cellsOf = (name: string) =>
  (JSON.parse(readFileSync(join(ROOT, "notebooks", name), "utf8")) as { cells: { cell_type: string; id?: string; source: string | string[] }[] }).cells.map((c) => ({
    ...c,
    text: Array.isArray(c.source) ? c.source.join("") : c.source,
  }));

test("code lines are at most 100 characters, so the HTML exports show them whole", () => {
  for (const name of notebooks) {
    for (const cell of cellsOf(name).filter((c) => c.cell_type === "code")) {
      for (const line of cell.text.split("\n")) assert.ok(line.length <= 100, `${name} cell ${cell.id}: ${line.length} characters: ${line}`);
    }
  }
});

test("every notebook ends with a questionnaire whose answers are given, and shows no machine's paths or env-var switches", () => {
  for (const name of notebooks) {
    const cells = cellsOf(name);
    const markdown = cells.filter((c) => c.cell_type === "markdown").map((c) => c.text).join("\n");
    assert.match(markdown, /## Questionnaire\n\n1\. [\s\S]*<details><summary>Answers<\/summary>\n\n1\. /, `${name} has a questionnaire with answers`);
    const code = cells.filter((c) => c.cell_type === "code").map((c) => c.text).join("\n");
    assert.doesNotMatch(code, /process\.env\.OPENR1_/, `${name}: a setting the learner changes is a variable in the cell, not an environment variable`);
    assert.doesNotMatch(code, /rmSync/, `${name} deletes nothing`);
  }
});

const jupyter = existsSync("/usr/bin/python3") && spawnSync("/usr/bin/python3", ["-c", "import nbclient"]).status === 0;

test("a failing notebook cell fails `npm run notebooks`, naming the notebook, the cell and the error", { skip: !jupyter && "Jupyter is not installed (environment/setup.sh installs it)" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-nb-"));
  try {
    const nb = join(dir, "99_broken.ipynb");
    const cell = (id: string, source: string) => ({ cell_type: "code", id, metadata: {}, execution_count: null, outputs: [], source });
    writeFileSync(nb, JSON.stringify({
      cells: [cell("ok", "const answer = 42;"), cell("bad", 'throw new Error("the data folder is missing");'), cell("never", "console.log(answer);")],
      metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
      nbformat: 4, nbformat_minor: 5,
    }));
    const r = spawnSync("bash", ["environment/run-notebooks.sh", nb], { cwd: ROOT, encoding: "utf8", env: { ...process.env, OPENR1_NOTEBOOK_OUT: join(dir, "out") } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /FAILED: .*99_broken\.ipynb, cell 1 \(id bad\)/);
    assert.match(r.stderr, /error: Error: the data folder is missing/);
    assert.ok(existsSync(join(dir, "out", "99_broken.ipynb")), "the copy executed so far is kept to look at");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
