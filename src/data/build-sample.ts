// Builds src/assets/openr1-math/sample.parquet from the real rows in tests/fixtures/data:
//   node --import tsx src/data/build-sample.ts
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sampleRowFromRewardKit, type RewardKitRow } from "./sample-rows.js";
import { writeOpenR1Parquet } from "./write-parquet.js";

const SAMPLE_FIXTURE = "tests/fixtures/data/openr1_first100_numeric.reward-kit.jsonl";
/** Several row groups, so that readers of the sample exercise row-group-by-row-group reading. */
const SAMPLE_ROW_GROUP_SIZE = 16;

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const lines = readFileSync(join(root, SAMPLE_FIXTURE), "utf8").split("\n").filter((l) => l.trim() !== "");
const rows = lines.map((line, i) => sampleRowFromRewardKit(JSON.parse(line) as RewardKitRow, i));
const out = join(root, "src", "assets", "openr1-math", "sample.parquet");
await writeOpenR1Parquet(out, rows, SAMPLE_ROW_GROUP_SIZE);
console.log(`wrote ${rows.length} rows to ${out}`);
