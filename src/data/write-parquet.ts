import { writeFile } from "node:fs/promises";
import { parquetWriteBuffer } from "hyparquet-writer";
import type { OpenR1Row } from "./schema.js";

export type SchemaElement = NonNullable<Parameters<typeof parquetWriteBuffer>[0]["schema"]>[number];

/** An optional UTF-8 string column. */
export const string = (name: string): SchemaElement => ({ name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" });

/** list<T> in the standard 3-level layout pyarrow writes (`<name>.list.element`). */
export function list(name: string, element: SchemaElement[]): SchemaElement[] {
  return [
    { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
    { name: "list", repetition_type: "REPEATED", num_children: 1 },
    ...element,
  ];
}

/** The parquet schema of OpenR1-Math-220k: strings, list<bool>, list<string>, int64 and list<struct<content, role>>. */
export const OPENR1_PARQUET_SCHEMA: SchemaElement[] = [
  { name: "schema", num_children: 14 },
  string("problem"),
  string("solution"),
  string("answer"),
  string("problem_type"),
  string("question_type"),
  string("source"),
  string("uuid"),
  ...list("is_reasoning_complete", [{ name: "element", type: "BOOLEAN", repetition_type: "OPTIONAL" }]),
  ...list("generations", [string("element")]),
  ...list("correctness_math_verify", [{ name: "element", type: "BOOLEAN", repetition_type: "OPTIONAL" }]),
  ...list("correctness_llama", [{ name: "element", type: "BOOLEAN", repetition_type: "OPTIONAL" }]),
  ...list("finish_reasons", [string("element")]),
  { name: "correctness_count", type: "INT64", repetition_type: "OPTIONAL" },
  ...list("messages", [{ name: "element", repetition_type: "OPTIONAL", num_children: 2 }, string("content"), string("role")]),
];

/** Writes rows in the OpenR1-Math-220k parquet schema (snappy, `rowGroupSize` rows per row group). */
export async function writeOpenR1Parquet(path: string, rows: readonly OpenR1Row[], rowGroupSize = 1000): Promise<void> {
  const column = <K extends keyof OpenR1Row>(name: K) => ({ name, data: rows.map((r) => r[name]) });
  const buffer = parquetWriteBuffer({
    schema: OPENR1_PARQUET_SCHEMA,
    columnData: [
      column("problem"),
      column("solution"),
      column("answer"),
      column("problem_type"),
      column("question_type"),
      column("source"),
      column("uuid"),
      column("is_reasoning_complete"),
      column("generations"),
      column("correctness_math_verify"),
      column("correctness_llama"),
      column("finish_reasons"),
      { name: "correctness_count", data: rows.map((r) => BigInt(r.correctness_count)) },
      // pyarrow orders the struct fields of messages as content, role.
      { name: "messages", data: rows.map((r) => r.messages.map((m) => ({ content: m.content, role: m.role }))) },
    ],
    rowGroupSize,
    kvMetadata: [{ key: "writer", value: "openr1-ts src/data/write-parquet.ts" }],
  });
  await writeFile(path, new Uint8Array(buffer));
}
