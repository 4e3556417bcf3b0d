/**
 * The data stage at scale: synthetic shards in OpenR1-Math-220k's parquet schema (generated problems, each with
 * two multi-kilobyte generations, as the real rows have), then `openr1 data` on them as a child process: rows/s and
 * its peak RSS (GNU time).
 *
 * Run alone: node --import tsx bench/data.ts [--rows 93733] [--shard-rows 10000] [--generation-chars 6000]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateProblems, generatedRow, writeOpenR1Parquet } from "../src/data/index.js";

export interface DataBenchRow {
  tool: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMiB: number;
}

/** Runs a command under GNU time: wall seconds and peak RSS. */
function measured(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; peakRssMiB: number } {
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "PEAK_KB %M", command, ...args], { encoding: "utf8", maxBuffer: 1 << 26, env });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${r.stderr.slice(-2000)}`);
  return { seconds, peakRssMiB: Math.round(Number(/PEAK_KB (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024) };
}

/**
 * `openr1 data` on the shards, and pyarrow doing the same work (bench/data_pyarrow.py) when a Python with pyarrow is
 * at hand (PYARROW_PYTHON, else python3 if it imports pyarrow).
 */
export async function runDataBench(options: { rows?: number; shardRows?: number; generationChars?: number } = {}): Promise<DataBenchRow[]> {
  const { rows = 93_733, shardRows = 10_000, generationChars = 6_000 } = options;
  const dir = mkdtempSync(join(tmpdir(), "openr1-data-bench-"));
  try {
    const shards = join(dir, "data");
    const problems = generateProblems({ seed: 5, pool: "finetune", count: rows });
    let shard: ReturnType<typeof generatedRow>[] = [];
    let written = 0;
    const flush = async () => {
      if (shard.length === 0) return;
      await writeOpenR1Parquet(join(shards, `train-${String(written).padStart(5, "0")}.parquet`), shard);
      written++;
      shard = [];
    };
    mkdirSync(shards, { recursive: true });
    for (const p of problems) {
      const row = generatedRow(p);
      const pad = (g: string) => g + "\n" + "Let me double-check each step. ".repeat(Math.ceil(generationChars / 31)).slice(0, generationChars);
      shard.push({ ...row, generations: row.generations.map(pad) });
      if (shard.length === shardRows) await flush();
    }
    await flush();
    const bin = fileURLToPath(new URL("../bin/openr1.js", import.meta.url));
    const ours = measured(process.execPath, [bin, "data", "--source", shards, "--out", join(dir, "out"), "--validation", "500"]);
    const results: DataBenchRow[] = [{ tool: "openr1 data", rows, ...ours, rowsPerSecond: rows / ours.seconds }];
    const python = process.env.PYARROW_PYTHON ?? "python3";
    if (spawnSync(python, ["-c", "import pyarrow"]).status === 0) {
      const script = fileURLToPath(new URL("./data_pyarrow.py", import.meta.url));
      const ref = measured(python, [script, shards, join(dir, "out-pyarrow"), "500"]);
      results.push({ tool: "pyarrow (same filter and split)", rows, ...ref, rowsPerSecond: rows / ref.seconds });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => process.argv.find((_, i, a) => a[i - 1] === name);
  const rows = await runDataBench({
    rows: arg("--rows") ? Number(arg("--rows")) : undefined,
    shardRows: arg("--shard-rows") ? Number(arg("--shard-rows")) : undefined,
    generationChars: arg("--generation-chars") ? Number(arg("--generation-chars")) : undefined,
  });
  for (const row of rows) console.log(`${row.tool}: ${row.rows} rows in ${row.seconds.toFixed(1)} s (${Math.round(row.rowsPerSecond)} rows/s), peak RSS ${row.peakRssMiB} MiB`);
}
