import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { describe, it } from "node:test";
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet";
import { EMBEDDED_SAMPLE, loadEmbeddedSample, readParquetRows, sampleRowFromRewardKit, type RewardKitRow } from "../../src/data/index.js";
import { collect, REWARD_KIT } from "./helpers.js";

const fixture = readFileSync(REWARD_KIT, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as RewardKitRow);
const plain = (row: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? Number(v) : v === undefined ? null : v)));

describe("embedded sample (src/assets/openr1-math/sample.parquet)", () => {
  it("is small and split into row groups of 16", async () => {
    assert.ok(statSync(EMBEDDED_SAMPLE).size < 1_000_000);
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(EMBEDDED_SAMPLE));
    assert.deepEqual(metadata.row_groups.map((g) => Number(g.num_rows)), [16, 16, 16, 6]);
  });

  it("is what src/data/build-sample.ts builds from the committed fixture (reproducible)", async () => {
    const rows = await collect(readParquetRows(EMBEDDED_SAMPLE));
    const rebuilt = fixture.map((row, i) => sampleRowFromRewardKit(row, i));
    assert.deepEqual(rows.map(plain), rebuilt.map((r) => plain(r as unknown as Record<string, unknown>)));
  });

  it("holds the real problems, solutions and answers of the fixture", async () => {
    const rows = await collect(readParquetRows(EMBEDDED_SAMPLE, { columns: ["problem", "solution", "answer"] }));
    rows.forEach((row, i) => {
      const [user, assistant] = fixture[i].messages;
      assert.equal(row.problem, user.content);
      assert.equal(`\\boxed{${row.answer}}`, fixture[i].ground_truth_answer_from_column);
      assert.ok(assistant.content.startsWith(row.solution as string) && (row.solution as string).length > 0);
    });
  });

  it("its synthesised columns are consistent: one verified generation, the real solution; correctness_count counts it", async () => {
    const rows = await collect(readParquetRows(EMBEDDED_SAMPLE));
    for (const row of rows) {
      const verified = (row.correctness_math_verify as boolean[]).flatMap((ok, i) => (ok ? [i] : []));
      assert.equal(verified.length, 1);
      assert.equal((row.generations as string[])[verified[0]], row.solution);
      assert.equal(Number(row.correctness_count), 1);
      assert.deepEqual((row.finish_reasons as string[]).map((f, i) => f === "stop"), row.is_reasoning_complete);
    }
    const { examples, report } = await loadEmbeddedSample();
    assert.equal(report.kept, 54);
    assert.ok(examples.every((e) => e.reasoning === e.solution));
  });
});
