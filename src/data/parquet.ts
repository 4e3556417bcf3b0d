import { open } from "node:fs/promises";
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from "hyparquet";
// WebAssembly snappy (and zstd, brotli, …): hyparquet's built-in JavaScript snappy was a fifth of reading a shard.
import { compressors } from "hyparquet-compressors";
import { DatasetError } from "./errors.js";

export interface ReadOptions {
  /** Stop after this many rows (over all files read). */
  limit?: number;
  /** Read only these columns (parquet reads nothing else from disk). */
  columns?: readonly string[];
}

/** An AsyncBuffer over an open file handle: hyparquet reads the byte ranges it needs, never the whole file. */
async function fileBuffer(path: string): Promise<{ buffer: AsyncBuffer; close: () => Promise<void> }> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(`${path}: cannot open parquet file${code === "ENOENT" ? " (no such file)" : ` (${(err as Error).message})`}`);
  }
  const { size } = await handle.stat();
  const h = handle;
  return {
    buffer: {
      byteLength: size,
      async slice(start: number, end?: number) {
        const stop = Math.min(end ?? size, size);
        const length = Math.max(0, stop - start);
        const bytes = new Uint8Array(length);
        const { bytesRead } = await h.read(bytes, 0, length, start);
        return bytes.buffer.slice(0, bytesRead);
      },
    },
    close: () => h.close(),
  };
}

function corrupt(path: string, err: unknown): DatasetError {
  return new DatasetError(`${path}: not a readable parquet file (corrupt or truncated?): ${(err as Error).message}`);
}

/** The top-level column names of a parquet file. */
export function parquetColumns(metadata: FileMetaData): string[] {
  return parquetSchema(metadata).children.map((c) => c.element.name);
}

/**
 * Rows of a parquet file as objects, one row group at a time (a 200 MB shard never sits in memory at once).
 * `limit` stops reading early; missing requested columns are reported before any row is read.
 */
export async function* readParquetRows(path: string, options: ReadOptions = {}): AsyncGenerator<Record<string, unknown>> {
  const limit = options.limit ?? Infinity;
  if (limit <= 0) return;
  const { buffer, close } = await fileBuffer(path);
  try {
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (err) {
      throw corrupt(path, err);
    }
    if (options.columns) {
      const have = new Set(parquetColumns(metadata));
      const missing = options.columns.filter((c) => !have.has(c));
      if (missing.length > 0) {
        throw new DatasetError(`${path}: missing column${missing.length > 1 ? "s" : ""} ${missing.map((c) => `'${c}'`).join(", ")} (found ${[...have].join(", ")})`);
      }
    }
    let emitted = 0;
    let rowStart = 0;
    for (const group of metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows);
      const want = Math.min(rowEnd, rowStart + (limit - emitted));
      let rows: Record<string, unknown>[];
      try {
        rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd: want, columns: options.columns ? [...options.columns] : undefined, compressors });
      } catch (err) {
        throw corrupt(path, err);
      }
      for (const row of rows) {
        yield row;
        if (++emitted >= limit) return;
      }
      rowStart = rowEnd;
    }
  } finally {
    await close();
  }
}
