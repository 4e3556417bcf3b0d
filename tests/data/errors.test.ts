import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parquetWriteBuffer } from "hyparquet-writer";
import { DatasetError, EMBEDDED_SAMPLE, loadMathExamples } from "../../src/data/index.js";
import { FILTERS } from "./helpers.js";

let dir: string;
const local = (path: string) => loadMathExamples({ kind: "local", path });
const rejectsWith = (promise: Promise<unknown>, ...patterns: RegExp[]) =>
  assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof DatasetError, `expected a DatasetError, got ${err.name}: ${err.message}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });

describe("bad input gets an error naming the file and the problem", () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "openr1-bad-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("missing file or directory", async () => {
    await rejectsWith(local(join(dir, "nope.parquet")), /nope\.parquet: no such file or directory/);
  });

  it("unsupported file type and a directory without data files", async () => {
    await writeFile(join(dir, "data.csv"), "a,b\n");
    await rejectsWith(local(join(dir, "data.csv")), /data\.csv: unsupported file type/);
    await rejectsWith(local(dir), new RegExp(`${dir}: no \\.parquet or \\.jsonl files`));
  });

  it("missing column in a parquet file (checked before reading rows)", async () => {
    const path = join(dir, "few-columns.parquet");
    await writeFile(path, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "problem", data: ["1+1?"], type: "STRING" }] })));
    await rejectsWith(local(path), /few-columns\.parquet: missing columns 'solution', 'answer'/, /found problem/);
  });

  it("missing column in a jsonl file, with the line", async () => {
    const path = join(dir, "few-columns.jsonl");
    const rows = (await readFile(FILTERS, "utf8")).split("\n").slice(0, 2);
    const broken = JSON.parse(rows[1]);
    delete broken.answer;
    await writeFile(path, `${rows[0]}\n${JSON.stringify(broken)}\n`);
    await rejectsWith(local(path), /few-columns\.jsonl, line 2: missing column 'answer'/);
  });

  it("wrong type in a jsonl file, with the row and column", async () => {
    const path = join(dir, "wrong-type.jsonl");
    const row = JSON.parse((await readFile(FILTERS, "utf8")).split("\n")[0]);
    await writeFile(path, `${JSON.stringify({ ...row, generations: "not a list" })}\n`);
    await rejectsWith(local(path), /wrong-type\.jsonl, row 1: column 'generations' should be a list<string>, got string/);
    await writeFile(path, `${JSON.stringify({ ...row, correctness_math_verify: [true, "yes"] })}\n`);
    await rejectsWith(local(path), /wrong-type\.jsonl, row 1: column 'correctness_math_verify' item 1 should be a boolean, got string/);
  });

  it("wrong type in a parquet file", async () => {
    const path = join(dir, "wrong-type.parquet");
    const strings = ["solution", "answer", "problem_type", "question_type", "source", "uuid"].map((name) => ({ name, data: ["x"], type: "STRING" as const }));
    const lists = ["is_reasoning_complete", "generations", "correctness_math_verify"].map((name) => ({ name, data: ["[]"], type: "STRING" as const }));
    await writeFile(path, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "problem", data: [7], type: "INT32" }, ...strings, ...lists] })));
    await rejectsWith(local(path), /wrong-type\.parquet, row 1: column 'problem' should be a string, got number/);
  });

  it("invalid JSON in a jsonl file", async () => {
    const path = join(dir, "bad.jsonl");
    await writeFile(path, "{\"problem\": \n");
    await rejectsWith(local(path), /bad\.jsonl, line 1: invalid JSON/);
  });

  it("truncated parquet", async () => {
    const bytes = await readFile(EMBEDDED_SAMPLE);
    const path = join(dir, "truncated.parquet");
    await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await rejectsWith(local(path), /truncated\.parquet: not a readable parquet file \(corrupt or truncated\?\)/);
  });

  it("corrupt parquet: not parquet at all, and damaged data pages under an intact footer", async () => {
    const text = join(dir, "text.parquet");
    await writeFile(text, "this is not parquet, just text long enough to have a footer\n");
    await rejectsWith(local(text), /text\.parquet: not a readable parquet file/);
    const bytes = Buffer.from(await readFile(EMBEDDED_SAMPLE));
    bytes.fill(0xff, 4, Math.floor(bytes.length * 0.8));
    const damaged = join(dir, "damaged.parquet");
    await writeFile(damaged, bytes);
    await rejectsWith(local(damaged), /damaged\.parquet: not a readable parquet file/);
  });

  it("empty after filtering names the source and shows the report", async () => {
    await rejectsWith(
      loadMathExamples({ kind: "local", path: FILTERS }, { filters: { maxProblemChars: 5 } }),
      /filters\.jsonl: no examples left after filtering/,
      /removed by maxProblemChars: 5/,
    );
    await rejectsWith(loadMathExamples({ kind: "embedded" }, { limit: 0 }), /embedded sample.*no examples left/);
  });
});
