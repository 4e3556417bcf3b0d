import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EMBEDDED_SAMPLE, OPENR1_COLUMNS, readJsonlRows, readParquetRows, readSourceRows } from "../../src/data/index.js";
import { collect, FILTERS, rewardKitReference } from "./helpers.js";

describe("parquet reader (embedded sample)", () => {
  it("reads every row with the 14 real columns and the real problems and answers", async () => {
    const rows = await collect(readParquetRows(EMBEDDED_SAMPLE));
    const reference = rewardKitReference();
    assert.equal(rows.length, 54);
    for (const column of OPENR1_COLUMNS) assert.ok(column in rows[0], column);
    assert.equal(rows[0].correctness_llama ?? null, null);
    assert.deepEqual(rows.map((r) => r.problem), reference.map((r) => r.problem));
    assert.deepEqual(rows.map((r) => r.answer), reference.map((r) => r.answer));
    assert.equal(typeof rows[0].correctness_count, "bigint");
    assert.ok(Array.isArray(rows[0].generations) && Array.isArray(rows[0].is_reasoning_complete));
    assert.deepEqual((rows[0].messages as { role: string }[]).map((m) => m.role), ["user", "assistant"]);
  });

  it("stops at the limit, across row groups of 16 rows, with the same rows as a full read", async () => {
    const all = await collect(readParquetRows(EMBEDDED_SAMPLE, { columns: ["uuid"] }));
    for (const limit of [1, 16, 20, 54, 100]) {
      const some = await collect(readParquetRows(EMBEDDED_SAMPLE, { columns: ["uuid"], limit }));
      assert.deepEqual(some, all.slice(0, limit));
    }
    assert.deepEqual(await collect(readParquetRows(EMBEDDED_SAMPLE, { limit: 0 })), []);
  });

  it("reads only the requested columns", async () => {
    const [row] = await collect(readParquetRows(EMBEDDED_SAMPLE, { columns: ["problem", "answer"], limit: 1 }));
    assert.deepEqual(Object.keys(row).sort(), ["answer", "problem"]);
  });
});

describe("jsonl reader", () => {
  it("reads the rows of a jsonl file with their nulls, and stops at the limit", async () => {
    const rows = await collect(readJsonlRows(FILTERS));
    assert.equal(rows.length, 10);
    assert.equal(rows[0].uuid, "u1");
    assert.deepEqual(rows[8].generations, ["14", null]);
    assert.equal((await collect(readJsonlRows(FILTERS, { limit: 3 }))).length, 3);
  });

  it("a local directory reads its parquet and jsonl files in name order, the limit spanning files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "openr1-data-"));
    await copyFile(EMBEDDED_SAMPLE, join(dir, "a.parquet"));
    await mkdir(join(dir, "more"));
    await copyFile(FILTERS, join(dir, "more", "b.jsonl"));
    await writeFile(join(dir, "notes.txt"), "ignored");
    const rows = await collect(readSourceRows({ kind: "local", path: dir }, { limit: 60, columns: ["uuid"] }));
    assert.equal(rows.length, 60);
    assert.equal(rows[53].file, join(dir, "a.parquet"));
    assert.equal(rows[54].file, join(dir, "more", "b.jsonl"));
    assert.deepEqual(rows.slice(54).map((r) => [r.rowNumber, r.row.uuid]), [[1, "u1"], [2, "u2"], [3, "u3"], [4, "u4"], [5, "u5"], [6, "u6"]]);
    await rm(dir, { recursive: true });
  });
});
