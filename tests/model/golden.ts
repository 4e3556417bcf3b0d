import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Hugging Face transformers/peft reference outputs copied from ../shared/fixtures/golden. */
export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "golden");

export interface GoldenInputs {
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
  labels: number[][];
  pad_token_id: number;
}

export interface GoldenForward {
  logits: number[][][];
  last_token_argmax: number[];
  loss: number;
  token_nll: number[];
}

export interface Golden {
  inputs: GoldenInputs;
  forward: GoldenForward;
  forward_default_position_ids: { position_ids: number[][]; logits: number[][][] };
  generate: { sequences: number[][]; new_tokens: number[][]; step_logits: number[][][] };
}

export interface GoldenLora {
  forward: GoldenForward;
  grads: { tensors: Record<string, number[][]> };
  merged: { logits: number[][][]; loss: number; last_token_argmax: number[] };
}

export const VARIANTS = ["tiny-tied", "tiny-untied", "tiny-tied-bf16"] as const;

export function readGolden(variant: string): Golden {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, variant, "golden.json"), "utf8"));
}

export function readGoldenLora(variant: string): GoldenLora {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, variant, "lora", "golden.json"), "utf8"));
}

/** The dims of a nested array (its first element's at each depth), checking every row at each depth has them. */
function dims(x: unknown, path = "output"): number[] {
  if (!Array.isArray(x)) return [];
  const inner = x.map((r, i) => dims(r, `${path}[${i}]`));
  for (const [i, d] of inner.entries()) {
    if (d.join(",") !== inner[0].join(",")) throw new Error(`${path}[${i}] is [${d}], ${path}[0] is [${inner[0]}]`);
  }
  return [x.length, ...(inner[0] ?? [])];
}

/** Largest |a - b| over positions where mask is 1; a and b must have the same shape (a truncated output fails). */
export function maxDiffMasked(a: number[][][], b: number[][][], mask: number[][]): number {
  const [da, db] = [dims(a), dims(b)];
  if (da.join(",") !== db.join(",")) throw new Error(`shape [${da}] is not the reference's [${db}]`);
  if (dims(mask).join(",") !== da.slice(0, 2).join(",")) throw new Error(`mask [${dims(mask)}] does not cover [${da.slice(0, 2)}]`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    for (let t = 0; t < a[i].length; t++) {
      if (mask[i][t] !== 1) continue;
      for (let v = 0; v < a[i][t].length; v++) m = Math.max(m, Math.abs(a[i][t][v] - b[i][t][v]));
    }
  }
  return m;
}
