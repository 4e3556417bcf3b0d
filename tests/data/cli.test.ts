import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Command } from "commander";
import { registerDataCommands } from "../../src/cli/data.js";
import { normalizeProblem, type MathExample } from "../../src/data/index.js";
import { FILTERS } from "./helpers.js";

/** Runs `openr1 data …` in-process and returns what it printed. */
async function run(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command().exitOverride();
  registerDataCommands(program);
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...xs: unknown[]) => void out.push(xs.join(" "));
  console.error = (...xs: unknown[]) => void err.push(xs.join(" "));
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(["node", "openr1", "data", ...args]);
  } finally {
    [console.log, console.error] = [log, error];
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { out: out.join("\n"), err: err.join("\n"), code };
}

const readJsonl = async (path: string) => (await readFile(path, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as MathExample);

describe("openr1 data", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "openr1-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("splits the embedded sample into train/validation jsonl and prints the filter report", async () => {
    const out = join(dir, "embedded");
    const result = await run(["--validation", "8", "--stratify", "--out", out]);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /rows read: 54/);
    assert.match(result.out, /removed by verifiedCorrect: 0/);
    const train = await readJsonl(join(out, "train.jsonl"));
    const validation = await readJsonl(join(out, "validation.jsonl"));
    assert.deepEqual([train.length, validation.length], [46, 8]);
    const trainProblems = new Set(train.map((e) => normalizeProblem(e.problem)));
    assert.ok(validation.every((e) => !trainProblems.has(normalizeProblem(e.problem))));
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    assert.deepEqual([report.rowsRead, report.kept, report.split], [54, 54, { train: 46, validation: 8 }]);
  });

  it("takes a local jsonl and the filter switches", async () => {
    const out = join(dir, "local");
    const result = await run(["--source", FILTERS, "--no-dedupe", "--max-problem-chars", "100", "--validation", "1", "--out", out]);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /removed by maxProblemChars: 1\n.*\n\s+removed by duplicate: 0\nkept: 4/);
  });

  it("fails with a message (not a stack) on bad input", async () => {
    const missing = await run(["--source", join(dir, "nope.jsonl"), "--out", join(dir, "x")]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error: .*nope\.jsonl: no such file or directory$/m);
    const offline = await run(["--source", "hub", "--offline", "--cache-dir", join(dir, "empty-cache"), "--out", join(dir, "y")]);
    assert.equal(offline.code, 1);
    assert.match(offline.err, /error: data\/train-00000-of-00010\.parquet from dataset open-r1\/OpenR1-Math-220k@.* is not in the cache/);
    // The split's setting, refused as `openr1 run --set data.validation=-3` refuses it.
    await assert.rejects(run(["--validation", "-3"]), /option '--validation <size>' argument '-3' is invalid\. data\.validation must be an integer count ≥ 1 or a fraction in \(0, 1\), got -3/);
  });
});
