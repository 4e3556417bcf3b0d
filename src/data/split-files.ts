import { createReadStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError } from "./errors.js";
import type { LoadOptions } from "./load.js";
import { formatFilterReport, Preprocessor, type FilterReport } from "./preprocess.js";
import { parseCoreRow, REQUIRED_COLUMNS } from "./schema.js";
import { describeSource, readSourceRows, type DataSource } from "./source.js";
import { splitExamples, type SplitOptions } from "./split.js";
import type { MathExample } from "./types.js";
import { lineWriter, type WrittenSplit } from "./write-jsonl.js";

/**
 * The data stage at any size: load → preprocess → filter → split → train.jsonl / validation.jsonl / report.json,
 * the same files as `prepareDataset` + `writeSplit`, without the split in memory. Kept examples go to a temporary
 * jsonl as they are read; only what the split needs (problem text and type) stays in memory; then the temporary
 * file is streamed into the two outputs, each side in the input order.
 */
export async function prepareSplitFiles(
  source: DataSource,
  dir: string,
  options: LoadOptions & { split: SplitOptions },
): Promise<{ paths: WrittenSplit; report: FilterReport; counts: { train: number; validation: number } }> {
  await mkdir(dir, { recursive: true });
  const paths = { train: join(dir, "train.jsonl"), validation: join(dir, "validation.jsonl"), report: join(dir, "report.json") };
  const kept = join(dir, ".kept.jsonl.tmp");
  const pre = new Preprocessor(options.filters);
  const light: Pick<MathExample, "id" | "problem" | "problemType">[] = [];
  const tmp = lineWriter(kept);
  try {
    try {
      for await (const { row, file, rowNumber } of readSourceRows(source, { limit: options.limit, columns: REQUIRED_COLUMNS })) {
        const example = pre.add(parseCoreRow(row, file, rowNumber));
        if (!example) continue;
        light.push({ id: example.id, problem: example.problem, problemType: example.problemType });
        await tmp.write(`${JSON.stringify(example)}\n`);
      }
      await tmp.close();
    } finally {
      tmp.destroy();
    }
    const report = pre.report();
    if (light.length === 0) throw new DatasetError(`${describeSource(source)}: no examples left after filtering.\n${formatFilterReport(report)}`);
    const split = splitExamples(light, options.split);
    const inValidation = new Set(split.validation);
    const train = lineWriter(paths.train);
    const validation = lineWriter(paths.validation);
    try {
      // Lines are routed as bytes: nothing is decoded or encoded again.
      let i = 0;
      let rest: Buffer = Buffer.alloc(0);
      for await (const chunk of createReadStream(kept) as AsyncIterable<Buffer>) {
        const data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        let start = 0;
        for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
          await (inValidation.has(light[i++]!) ? validation : train).write(data.subarray(start, nl + 1));
          start = nl + 1;
        }
        rest = Buffer.from(data.subarray(start));
      }
      await Promise.all([train.close(), validation.close()]);
    } finally {
      train.destroy();
      validation.destroy();
    }
    const counts = { train: split.train.length, validation: split.validation.length };
    await writeFile(paths.report, `${JSON.stringify({ ...report, split: counts }, null, 2)}\n`);
    return { paths, report, counts };
  } finally {
    await rm(kept, { force: true });
  }
}
