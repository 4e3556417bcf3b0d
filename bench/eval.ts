/**
 * Answer-checking throughput on the Math-Verify fixture cases (tests/fixtures/eval/cases.jsonl):
 * extraction of both sides + verification, cases/s. Two paths: in-process (`checkAnswer`, what the
 * reward functions call) and through the time-limited worker (`AnswerChecker`, what `evaluate` and
 * `openr1 score` use). Each path runs the whole file once to warm up (CAS load, JIT), then `rounds` times.
 *
 * Run alone: node --import tsx bench/eval.ts [--rounds=3]
 */
import { readFileSync } from "node:fs";
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

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.split("=")[1] ?? 3);
  const rows = await runEvalBench({ rounds });
  console.table(rows.map((r) => ({ ...r, seconds: r.seconds.toFixed(2), casesPerSecond: r.casesPerSecond.toFixed(1) })));
}
