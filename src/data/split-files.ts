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
  options: LoadOptions & { split: SplitOptions; /** bytes read at a time in the routing pass (tests: small, to cross lines) */ readChunkBytes?: number },
): Promise<{ paths: WrittenSplit; report: FilterReport; counts: { train: number; validation: number } }> {
  await mkdir(dir, { recursive: true });
  const paths = { train: join(dir, "train.jsonl"), validation: join(dir, "validation.jsonl"), report: join(dir, "report.json") };
  const kept = join(dir, ".kept.jsonl.tmp");
  const pre = new Preprocessor(options.filters);
  const light: Pick<MathExample, "id" | "problem" | "problemType">[] = [];
  // Each kept line's length in bytes: the second pass routes runs of lines without looking for newlines.
  const bytes: number[] = [];
  const tmp = lineWriter(kept);
  try {
    try {
      for await (const { row, file, rowNumber } of readSourceRows(source, { limit: options.limit, columns: REQUIRED_COLUMNS })) {
        const example = pre.add(parseCoreRow(row, file, rowNumber));
        if (!example) continue;
        light.push({ id: example.id, problem: example.problem, problemType: example.problemType });
        const line = Buffer.from(`${JSON.stringify(example)}\n`);
        bytes.push(line.length);
        await tmp.write(line);
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
      // Lines are routed as bytes, consecutive lines bound for the same file as one piece: nothing is decoded,
      // encoded or searched again.
      let i = 0;
      let left = bytes[0] ?? 0; // bytes of line i still to route
      for await (const chunk of createReadStream(kept, { highWaterMark: options.readChunkBytes ?? 8 << 20 }) as AsyncIterable<Buffer>) {
        let start = 0;
        while (start < chunk.length) {
          const toValidation = inValidation.has(light[i]!);
          let end = start;
          // Extend the piece over whole lines with the same destination, up to the chunk's end.
          while (end < chunk.length && inValidation.has(light[i]!) === toValidation) {
            const take = Math.min(left, chunk.length - end);
            end += take;
            left -= take;
            if (left > 0) break;
            left = bytes[++i] ?? 0;
            if (i >= bytes.length) break;
          }
          await (toValidation ? validation : train).write(chunk.subarray(start, end));
          start = end;
        }
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
