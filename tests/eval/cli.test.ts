import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { registerEvalCommands } from "../../src/cli/eval.js";
import type { Generation, Generator } from "../../src/eval/index.js";

async function runCli(args: string[], deps = {}): Promise<string[]> {
  const program = new Command().exitOverride();
  const out: string[] = [];
  registerEvalCommands(program, { ...deps, print: (line: string) => out.push(line) });
  await program.parseAsync(["node", "openr1", ...args]);
  return out;
}

const fixture = fileURLToPath(new URL("../fixtures/eval/cases.jsonl", import.meta.url));

test("score: one JSON line per input with a boolean `correct`, then a summary line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "score-"));
  try {
    const file = join(dir, "preds.jsonl");
    writeFileSync(
      file,
      [
        { gold: "$\\frac{1}{2}$", pred: "The answer is $\\boxed{0.5}$" },
        { gold: "$\\frac{1}{3}$", pred: "0.3333", precision: 4 },
        { gold: "$\\frac{1}{3}$", pred: "0.3333" },
        { gold: "$x^2$", pred: "$y^2$", strict: false },
        { gold: "$x^2$", pred: "$y^2$" },
        { gold: "10", pred: "$10$", match_types: ["expr"] },
      ]
        .map((r) => JSON.stringify(r))
        .join("\n") + "\n",
    );
    const lines = (await runCli(["score", file])).map((l) => JSON.parse(l));
    assert.deepEqual(lines.slice(0, -1).map((l) => l.correct), [true, true, false, true, false, true]);
    assert.deepEqual(lines.at(-1), { summary: true, n: 6, correct: 4, accuracy: 4 / 6, timed_out: 0 });
    // The CLI defaults apply only where a line has no setting of its own.
    const loose = (await runCli(["score", file, "--precision", "4", "--no-strict"])).map((l) => JSON.parse(l));
    assert.deepEqual(loose.slice(0, -1).map((l) => l.correct), [true, true, true, true, true, true]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("score over the Math-Verify fixture file reports agreement with the expected verdicts", async () => {
  const lines = await runCli(["score", fixture]);
  const summary = JSON.parse(lines.at(-1)!);
  assert.equal(summary.n, 264);
  assert.equal(lines.length, 265);
  console.log(`score CLI agreement on cases.jsonl: ${summary.agreement.agree}/${summary.agreement.n}`);
  assert.ok(summary.agreement.rate >= 0.95);
});

test("score: bad input names the file and line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "score-"));
  try {
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, `{"gold": "1", "pred": "1"}\n{"gold": 1, "pred": "1"}\n`);
    await assert.rejects(runCli(["score", file]), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: "gold" must be a string`));
    writeFileSync(file, `{"gold": "1", "pred": "1", "match_types": ["python"]}\n`);
    await assert.rejects(runCli(["score", file]), /bad\.jsonl:1: "match_types"/);
    await assert.rejects(runCli(["score", join(dir, "missing.jsonl")]), /missing\.jsonl: cannot read \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("evaluate: generates through the wired Generator and saves results; base vs tuned", async () => {
  const dir = mkdtempSync(join(tmpdir(), "evaluate-"));
  try {
    const data = join(dir, "validation.jsonl");
    writeFileSync(
      data,
      [
        { id: "1", problem: "1+1?", solution: "", answer: "2", problemType: "Algebra", questionType: "", source: "" },
        { id: "2", problem: "2+2?", solution: "", answer: "4", problemType: "Algebra", questionType: "", source: "" },
      ]
        .map((r) => JSON.stringify(r))
        .join("\n"),
    );
    const loadGenerator = async ({ label }: { label: string }): Promise<Generator> => ({
      name: label,
      generate: async (prompts: string[]): Promise<Generation[]> =>
        prompts.map((p) => ({ text: label === "tuned" || p.startsWith("1+1") ? `$\\boxed{${p.startsWith("1+1") ? 2 : 4}}$` : "$\\boxed{5}$", numTokens: 5, finishReason: "eos" })),
    });
    const rows = (await runCli(["evaluate", "--model", "m", "--base-model", "b", "--data", data, "--out", dir], { loadGenerator })).map((l) => JSON.parse(l));
    assert.deepEqual(rows.find((r) => r.metric === "accuracy"), { metric: "accuracy", base: 0.5, tuned: 1, delta: 0.5 });
    assert.equal(JSON.parse(readFileSync(join(dir, "tuned.summary.json"), "utf8")).accuracy, 1);
    assert.equal(JSON.parse(readFileSync(join(dir, "base.summary.json"), "utf8")).accuracy, 0.5);
    assert.equal(readFileSync(join(dir, "base.samples.jsonl"), "utf8").trim().split("\n").length, 2);
    // Without an injected factory the real model loader runs: the offline random Qwen2 with the shipped tokenizer.
    await runCli(["evaluate", "--model", "random-small", "--data", data, "--out", dir, "--max-new-tokens", "3"]);
    const real = JSON.parse(readFileSync(join(dir, "tuned.summary.json"), "utf8"));
    assert.equal(real.n, 2);
    assert.equal(real.responseTokens.max, 3);
    await assert.rejects(runCli(["evaluate", "--model", "no/such-dir-or-repo", "--data", join(dir, "missing.jsonl")]), /missing\.jsonl: cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the published bin scores from any directory (the checker's worker finds tsx from the package, not the cwd)", () => {
  const dir = mkdtempSync(join(tmpdir(), "score-elsewhere-"));
  try {
    writeFileSync(join(dir, "one.jsonl"), JSON.stringify({ gold: "$2$", pred: "\\boxed{2}" }) + "\n");
    const bin = fileURLToPath(new URL("../../bin/openr1.js", import.meta.url));
    const out = execFileSync(process.execPath, [bin, "score", "one.jsonl"], { cwd: dir, encoding: "utf8" }).trim().split("\n");
    assert.equal(JSON.parse(out[0]!).correct, true);
    assert.equal(JSON.parse(out.at(-1)!).accuracy, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
