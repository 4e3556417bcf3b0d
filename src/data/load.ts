import { DatasetError } from "./errors.js";
import { formatFilterReport, Preprocessor, type FilterOptions, type FilterReport } from "./preprocess.js";
import { parseCoreRow, REQUIRED_COLUMNS } from "./schema.js";
import { describeSource, readSourceRows, type DataSource } from "./source.js";
import { splitExamples, type SplitOptions } from "./split.js";
import type { DatasetSplit, MathExample } from "./types.js";

export interface LoadOptions {
  /** Rows to read before filtering (all when absent). */
  limit?: number;
  filters?: FilterOptions;
}

export interface LoadedDataset {
  examples: MathExample[];
  report: FilterReport;
  /** The files the rows were read from, in order. */
  files: string[];
}

/** Reads, checks and preprocesses a source into examples; fails naming the source when no example is left. */
export async function loadMathExamples(source: DataSource, options: LoadOptions = {}): Promise<LoadedDataset> {
  const pre = new Preprocessor(options.filters);
  const examples: MathExample[] = [];
  const files: string[] = [];
  for await (const { row, file, rowNumber } of readSourceRows(source, { limit: options.limit, columns: REQUIRED_COLUMNS })) {
    if (files[files.length - 1] !== file) files.push(file);
    const example = pre.add(parseCoreRow(row, file, rowNumber));
    if (example) examples.push(example);
  }
  const report = pre.report();
  if (examples.length === 0) {
    throw new DatasetError(`${describeSource(source)}: no examples left after filtering.\n${formatFilterReport(report)}`);
  }
  return { examples, report, files };
}

/** The embedded OpenR1-Math-220k sample as examples (default filters: every sample row has a verified, complete trace). */
export function loadEmbeddedSample(options: LoadOptions = {}): Promise<LoadedDataset> {
  return loadMathExamples({ kind: "embedded" }, options);
}

export interface PreparedDataset extends LoadedDataset {
  split: DatasetSplit;
}

/** Load → preprocess → filter → split, the whole data stage. */
export async function prepareDataset(source: DataSource, options: LoadOptions & { split: SplitOptions }): Promise<PreparedDataset> {
  const loaded = await loadMathExamples(source, options);
  return { ...loaded, split: splitExamples(loaded.examples, options.split) };
}
