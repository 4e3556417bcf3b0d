import type { Batch } from "../model/trainable.js";
import type { TokenizedExample } from "./format.js";
import { hashInts, seededRandom, shuffleInPlace } from "../rng.js";

/** Examples per length-sorted group, in micro-batches (transformers' LengthGroupedSampler uses 50). */
export const MEGABATCH_MULT = 50;

/**
 * The micro-batches of one epoch as lists of example indices, grouped by length to waste little padding:
 * a seeded shuffle, then within each megabatch of MEGABATCH_MULT·batchSize examples a sort by length, then
 * a seeded shuffle of the batch order (so long and short batches are interleaved through the epoch).
 * A pure function of (lengths, batchSize, seed, epoch): resuming recomputes it.
 */
export function epochBatches(lengths: number[], batchSize: number, seed: number, epoch: number): number[][] {
  const random = seededRandom(hashInts(seed, 0x0da7a, epoch));
  const order = shuffleInPlace(lengths.map((_, i) => i), random);
  const batches: number[][] = [];
  const mega = batchSize * MEGABATCH_MULT;
  for (let m = 0; m < order.length; m += mega) {
    const group = order.slice(m, m + mega).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    for (let b = 0; b < group.length; b += batchSize) batches.push(group.slice(b, b + batchSize));
  }
  return shuffleInPlace(batches, random);
}

/** Batches for evaluation: sorted by length (least padding), fixed order. */
export function evalBatches(lengths: number[], batchSize: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const batches: number[][] = [];
  for (let b = 0; b < order.length; b += batchSize) batches.push(order.slice(b, b + batchSize));
  return batches;
}

/** Right-padded batch (the padding side for training): pad id, attention 0 and label -100 on padding. */
export function collate(examples: TokenizedExample[], padTokenId: number, padToMultipleOf = 1): Batch {
  const longest = Math.max(...examples.map((e) => e.inputIds.length));
  const len = Math.ceil(longest / padToMultipleOf) * padToMultipleOf;
  const pad = <T>(xs: T[], v: T) => [...xs, ...new Array<T>(len - xs.length).fill(v)];
  return {
    inputIds: examples.map((e) => pad(e.inputIds, padTokenId)),
    attentionMask: examples.map((e) => pad(e.inputIds.map(() => 1), 0)),
    labels: examples.map((e) => pad(e.labels, -100)),
  };
}

/** Real (non-padding) tokens in a batch. */
export function countInputTokens(batch: Batch): number {
  let n = 0;
  for (const row of batch.attentionMask) for (const m of row) n += m;
  return n;
}
