import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";

/** A float32 tensor as plain data. */
export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Writes float32 tensors in the safetensors layout (u64 header length, JSON header, raw little-endian data),
 * fsynced: the trainer's own exact state (weights, Adam moments) in checkpoints.
 */
export function writeF32Safetensors(file: string, tensors: Map<string, F32Tensor>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(file, "w");
  try {
    writeSync(fd, head);
    writeSync(fd, Buffer.from(json));
    for (const t of tensors.values()) writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function readF32Safetensors(file: string): Map<string, F32Tensor> {
  const buf = readFileSync(file);
  const fail = (why: string) => new Error(`${file}: ${why}`);
  if (buf.length < 8) throw fail("truncated (no header)");
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) throw fail("truncated header");
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, F32Tensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (info.dtype !== "F32") throw fail(`${name} has dtype ${info.dtype}, expected F32`);
    const [b, e] = info.data_offsets;
    if (8 + n + e > buf.length) throw fail(`truncated data for ${name}`);
    const bytes = buf.subarray(8 + n + b, 8 + n + e);
    out.set(name, { shape: info.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) });
  }
  return out;
}
