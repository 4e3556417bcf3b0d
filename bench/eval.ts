/**
 * Answer-checking throughput on the Math-Verify fixture cases (tests/fixtures/eval/cases.jsonl):
 * extraction of both sides + verification, cases/s. Two paths: in-process (`checkAnswer`, what the
 * reward functions call) and through the time-limited worker (`AnswerChecker`, what `evaluate` and
 * `openr1 score` use). Each path runs the whole file once to warm up (CAS load, JIT), then `rounds` times.
 *
 * Run alone: node --import tsx bench/eval.ts [--rounds=3]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AnswerChecker, checkAnswer, recordOptions, type ScoreRecordOptions } from "../src/eval/index.js";

interface Case extends ScoreRecordOptions {
  gold: string;
  pred: string;
}

export interface EvalBenchRow {
  path: "in-process" | "worker (time limit)";
  cases: number;
  seconds: number;
  casesPerSecond: number;
}

function loadCases(): Case[] {
  return readFileSync(new URL("../tests/fixtures/eval/cases.jsonl", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Case);
}

export async function runEvalBench(opts: { rounds?: number } = {}): Promise<EvalBenchRow[]> {
  const rounds = opts.rounds ?? 3;
  const cases = loadCases();
  const rows: EvalBenchRow[] = [];
  const time = (f: () => void): number => {
    f();
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) f();
    return (performance.now() - t0) / 1000;
  };
  const inProcess = time(() => cases.forEach((c) => checkAnswer(c.gold, c.pred, recordOptions(c))));
  rows.push({ path: "in-process", cases: cases.length * rounds, seconds: inProcess, casesPerSecond: (cases.length * rounds) / inProcess });
  const checker = new AnswerChecker({ timeoutMs: 5000 });
  try {
    await checker.start();
    const viaWorker = time(() => cases.forEach((c) => checker.checkStarted(c.gold, c.pred, recordOptions(c))));
    rows.push({ path: "worker (time limit)", cases: cases.length * rounds, seconds: viaWorker, casesPerSecond: (cases.length * rounds) / viaWorker });
  } finally {
    checker.close();
  }
  return rows;
}

/** `openr1 score` on a one-line file, start to exit (the published bin, through tsx): the best of `rounds`, seconds. */
export function scoreStartupSeconds(rounds = 3): number {
  const dir = mkdtempSync(join(tmpdir(), "openr1-score-"));
  const file = join(dir, "one.jsonl");
  writeFileSync(file, `${JSON.stringify({ gold: "2", pred: "The answer is $\\boxed{2}$" })}\n`);
  const bin = fileURLToPath(new URL("../bin/openr1.js", import.meta.url));
  try {
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      execFileSync(process.execPath, [bin, "score", file], { stdio: "pipe" });
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return best;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.split("=")[1] ?? 3);
  const rows = await runEvalBench({ rounds });
  console.table(rows.map((r) => ({ ...r, seconds: r.seconds.toFixed(2), casesPerSecond: r.casesPerSecond.toFixed(1) })));
  console.log(`openr1 score, one-line file: ${scoreStartupSeconds(rounds).toFixed(2)} s (best of ${rounds})`);
}
