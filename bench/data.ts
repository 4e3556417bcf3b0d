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
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMiB: number;
}

export async function runDataBench(options: { rows?: number; shardRows?: number; generationChars?: number } = {}): Promise<DataBenchRow> {
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
    const t0 = performance.now();
    const r = spawnSync("/usr/bin/time", ["-f", "PEAK_KB %M", process.execPath, bin, "data", "--source", shards, "--out", join(dir, "out"), "--validation", "500"], {
      encoding: "utf8", maxBuffer: 1 << 26,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`openr1 data failed: ${r.stderr.slice(-2000)}`);
    const peakKb = Number(/PEAK_KB (\d+)/.exec(r.stderr)?.[1] ?? NaN);
    return { rows, seconds, rowsPerSecond: rows / seconds, peakRssMiB: Math.round(peakKb / 1024) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => process.argv.find((_, i, a) => a[i - 1] === name);
  const row = await runDataBench({
    rows: arg("--rows") ? Number(arg("--rows")) : undefined,
    shardRows: arg("--shard-rows") ? Number(arg("--shard-rows")) : undefined,
    generationChars: arg("--generation-chars") ? Number(arg("--generation-chars")) : undefined,
  });
  console.log(`openr1 data: ${row.rows} rows in ${row.seconds.toFixed(1)} s (${Math.round(row.rowsPerSecond)} rows/s), peak RSS ${row.peakRssMiB} MiB`);
}
