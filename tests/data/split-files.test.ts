import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataSourceFrom, prepareDataset, prepareSplitFiles, writeSplit } from "../../src/data/index.js";

test("the streamed data stage writes exactly the files of the in-memory one (embedded rows, generated problems; stratified or not)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-split-files-"));
  try {
    // (readChunkBytes: the routing pass reads the kept lines a few hundred bytes at a time, so lines cross reads)
    const runs = [
      { source: "embedded", split: { validation: 8, seed: 42, stratify: true }, readChunkBytes: undefined },
      { source: "generated", split: { validation: 0.1, seed: 7 }, readChunkBytes: undefined },
      { source: "generated", split: { validation: 0.3, seed: 3 }, readChunkBytes: 333 },
    ] as const;
    for (const [i, r] of runs.entries()) {
      const source = dataSourceFrom(r.source);
      const options = { limit: 500, split: { ...r.split }, readChunkBytes: r.readChunkBytes };
      const inMemory = await prepareDataset(source, options);
      await writeSplit(join(dir, `memory-${i}`), inMemory.split, inMemory.report);
      const streamed = await prepareSplitFiles(source, join(dir, `streamed-${i}`), options);
      for (const f of ["train.jsonl", "validation.jsonl", "report.json"]) {
        assert.equal(readFileSync(join(dir, `streamed-${i}`, f), "utf8"), readFileSync(join(dir, `memory-${i}`, f), "utf8"), `${r.source} ${f}`);
      }
      assert.deepEqual(streamed.counts, { train: inMemory.split.train.length, validation: inMemory.split.validation.length });
      assert.deepEqual(readdirSync(join(dir, `streamed-${i}`)).sort(), ["report.json", "train.jsonl", "validation.jsonl"], "no temporary file left");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the streamed data stage names the source when no example is left, and leaves no temporary file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-split-files-"));
  try {
    await assert.rejects(
      prepareSplitFiles(dataSourceFrom("embedded"), dir, { filters: { maxProblemChars: 1 }, split: { validation: 2 } }),
      /no examples left after filtering/,
    );
    assert.ok(!existsSync(join(dir, ".kept.jsonl.tmp")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
