import { open, readFile, rename, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { bf16ToF32, f16ToF32, f32ToBf16 } from "./half.js";

export type SafetensorsDtype = "F32" | "BF16" | "F16";

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, BF16: 2, F16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

/**
 * One .safetensors file opened for reading tensor by tensor: the header is parsed and validated up front,
 * each tensor is then read from the file handle on demand, so a 1 GB file is never held twice in memory.
 */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly tensors: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
    private readonly dataStart: number,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      throw new Error(`${path}: cannot open safetensors file (${(e as Error).message})`);
    }
    try {
      const size = (await fh.stat()).size;
      if (size < 8) throw new Error(`${path}: truncated safetensors file (${size} bytes, no header length)`);
      const lenBuf = Buffer.alloc(8);
      await fh.read(lenBuf, 0, 8, 0);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen > MAX_HEADER || 8 + headerLen > size) {
        throw new Error(`${path}: corrupt or truncated safetensors file (header length ${headerLen}, file size ${size})`);
      }
      const hdr = Buffer.alloc(headerLen);
      await fh.read(hdr, 0, headerLen, 8);
      const { tensors, metadata } = parseHeader(hdr.toString("utf8"), path, size - 8 - headerLen);
      return new SafetensorsFile(path, fh, tensors, metadata, 8 + headerLen);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Reads one tensor as float32 (BF16/F16 are widened exactly). */
  async readF32(name: string): Promise<Float32Array> {
    const info = this.tensors.get(name);
    if (!info) throw new Error(`${this.path}: no tensor named "${name}"`);
    const n = info.end - info.begin;
    const buf = new ArrayBuffer(n);
    const { bytesRead } = await this.fh.read(new Uint8Array(buf), 0, n, this.dataStart + info.begin);
    if (bytesRead !== n) throw new Error(`${this.path}: truncated while reading "${name}"`);
    if (info.dtype === "F32") return new Float32Array(buf);
    const half = new Uint16Array(buf);
    return info.dtype === "BF16" ? bf16ToF32(half) : f16ToF32(half);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function parseHeader(text: string, path: string, dataLen: number) {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: corrupt safetensors header (not JSON: ${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${path}: corrupt safetensors header (not a JSON object)`);
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw new Error(`${path}: tensor "${name}" has no header entry`);
    if (typeof e.dtype !== "string" || !(e.dtype in BYTES)) {
      throw new Error(`${path}: tensor "${name}" has dtype ${JSON.stringify(e.dtype)}; supported: F32, BF16, F16`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`${path}: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
      throw new Error(`${path}: tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const dtype = e.dtype as SafetensorsDtype;
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== numel * BYTES[dtype]) {
      throw new Error(`${path}: tensor "${name}" spans ${off[1] - off[0]} bytes but ${dtype}${JSON.stringify(shape)} needs ${numel * BYTES[dtype]}`);
    }
    if (off[1] > dataLen) {
      throw new Error(`${path}: truncated safetensors file: tensor "${name}" ends at byte ${off[1]} of a ${dataLen}-byte data section`);
    }
    tensors.set(name, { dtype, shape: shape as number[], begin: off[0], end: off[1] });
    ranges.push([off[0], off[1], name]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) {
      throw new Error(`${path}: corrupt safetensors header: tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
    }
  }
  return { tensors, metadata };
}

/** A model's weights spread over one file or the shards of `model.safetensors.index.json`. */
export class SafetensorsCheckpoint {
  private constructor(private readonly files: SafetensorsFile[], private readonly where: Map<string, SafetensorsFile>) {}

  /** Opens `dir/model.safetensors`, or the shards listed in `dir/model.safetensors.index.json`. */
  static async openDir(dir: string, stem = "model"): Promise<SafetensorsCheckpoint> {
    const indexPath = join(dir, `${stem}.safetensors.index.json`);
    let index: { weight_map?: Record<string, string> } | undefined;
    try {
      index = JSON.parse(await readFile(indexPath, "utf8"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(`${indexPath}: cannot read the shard index (${(e as Error).message})`);
      }
    }
    if (!index) {
      const f = await SafetensorsFile.open(join(dir, `${stem}.safetensors`));
      return new SafetensorsCheckpoint([f], new Map([...f.tensors.keys()].map((k) => [k, f])));
    }
    if (!index.weight_map || typeof index.weight_map !== "object") {
      throw new Error(`${indexPath}: no "weight_map" object`);
    }
    const shardNames = [...new Set(Object.values(index.weight_map))];
    const files: SafetensorsFile[] = [];
    try {
      for (const s of shardNames) files.push(await SafetensorsFile.open(join(dir, s)));
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
    const byName = new Map(shardNames.map((s, i) => [s, files[i]]));
    const where = new Map<string, SafetensorsFile>();
    for (const [tensor, shard] of Object.entries(index.weight_map)) {
      const f = byName.get(shard)!;
      if (!f.tensors.has(tensor)) throw new Error(`${indexPath}: "${tensor}" is mapped to ${shard}, which does not contain it`);
      where.set(tensor, f);
    }
    return new SafetensorsCheckpoint(files, where);
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  info(name: string): TensorInfo | undefined {
    return this.where.get(name)?.tensors.get(name);
  }

  readF32(name: string): Promise<Float32Array> {
    const f = this.where.get(name);
    if (!f) throw new Error(`checkpoint has no tensor named "${name}"`);
    return f.readF32(name);
  }

  describe(): string {
    return this.files.map((f) => basename(f.path)).join(", ");
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
}

/**
 * Writes float32 tensors to a .safetensors file as F32 or BF16 (tensors sorted by name, 8-byte aligned
 * header, like the reference serializer). Written to a temporary name, then renamed: never half a file.
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite>,
  opts: { dtype?: "F32" | "BF16"; metadata?: Record<string, string> } = {},
): Promise<void> {
  const dtype = opts.dtype ?? "F32";
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: opts.metadata ?? { format: "pt" } };
  let offset = 0;
  for (const n of names) {
    const t = tensors.get(n)!;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new Error(`writeSafetensors ${path}: "${n}" has ${t.data.length} values for shape ${JSON.stringify(t.shape)}`);
    const bytes = numel * BYTES[dtype];
    header[n] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let hdr = JSON.stringify(header);
  hdr += " ".repeat((8 - (Buffer.byteLength(hdr) % 8)) % 8);
  const hdrBuf = Buffer.from(hdr, "utf8");
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fh = await open(tmp, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hdrBuf.length));
    await fh.write(len);
    await fh.write(hdrBuf);
    for (const n of names) {
      const d = tensors.get(n)!.data;
      const out = dtype === "F32" ? d : f32ToBf16(d);
      await fh.write(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
