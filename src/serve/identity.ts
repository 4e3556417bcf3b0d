import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Qwen2Config } from "../model/config.js";

/** Files that decide what a model folder generates: its config, tokenizer, vocab map and weights. */
const IDENTITY_FILE = /\.(json|safetensors)$/;

/**
 * A hash of what the served model generates from: the model folder's config, tokenizer and weight files, and the
 * adapter folder's, names and bytes. Two servers with the same fingerprint serve the same weights; a client that cached
 * answers can tell a different model served under the same name.
 */
export async function modelFingerprint(modelDir: string, adapterDir?: string): Promise<string> {
  const hash = createHash("sha256");
  for (const [label, dir] of [["model", modelDir], ["adapter", adapterDir]] as const) {
    if (!dir) continue;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`modelFingerprint: ${dir} is not a folder`);
    for (const name of readdirSync(dir).filter((f) => IDENTITY_FILE.test(f)).sort()) {
      hash.update(`${label}/${name}\0${statSync(join(dir, name)).size}\0`);
      for await (const chunk of createReadStream(join(dir, name))) hash.update(chunk as Buffer);
    }
  }
  return `sha256:${hash.digest("hex").slice(0, 16)}`;
}

/**
 * Bytes a serving context token costs at most: every sequence's keys and values, twice (a step writes each layer's
 * cache anew before the old one is freed). Attention itself does not grow with the context beyond its tiles, whose
 * scores are bounded by `attentionTileBytes` whatever the length.
 */
export function bytesPerContextToken(c: Qwen2Config, maxBatch: number): number {
  return 2 * maxBatch * 2 * c.numHiddenLayers * c.numKeyValueHeads * c.headDim * 4;
}

/**
 * The longest context (prompt plus completion) whose worst case fits `budgetBytes` beside a few attention tiles: a
 * multiple of 1,024 tokens, at most the model's max_position_embeddings.
 */
export function defaultMaxContext(c: Qwen2Config, maxBatch: number, budgetBytes: number, attentionTileBytes: number): number {
  const fits = Math.floor((budgetBytes - 4 * attentionTileBytes) / bytesPerContextToken(c, maxBatch) / 1024) * 1024;
  return Math.max(1024, Math.min(c.maxPositionEmbeddings, fits));
}
