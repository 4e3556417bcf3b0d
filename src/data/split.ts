import { z } from "zod";
import type { MathExample } from "./types.js";
import { normalizeProblem, sha256Hex } from "./normalize.js";
import { flag, parseSettings, seedSetting } from "../settings.js";

const VALIDATION_RULE = "must be an integer count ≥ 1 or a fraction in (0, 1)";

/** The split's settings (the pipeline's data.validation, data.stratify and seed). */
export const splitSettings = z.strictObject({
  validation: z
    .number({ error: VALIDATION_RULE })
    .gt(0, { error: VALIDATION_RULE })
    .refine((v) => v < 1 || Number.isInteger(v), { error: VALIDATION_RULE })
    .describe("validation examples: a count (≥ 1) or a fraction (< 1) of the rows"),
  seed: seedSetting,
  stratify: flag().default(false).describe("keep each problem type's share equal in train and validation"),
});

/** Validation size: a count (≥ 1) or a fraction of the examples (< 1); the seed; stratification by problem type. */
export type SplitOptions = z.input<typeof splitSettings>;

/** What the split reads of an example: the problem text (its hash places it) and, to stratify, its type. */
type Splittable = Pick<MathExample, "problem" | "problemType">;

interface Group<T extends Splittable> {
  key: number;
  members: T[];
}

/** A uniform number in [0, 1) from the seed and the normalised problem: the same problem always lands the same way. */
function hashUnit(seed: number, problemKey: string): number {
  return parseInt(sha256Hex(`${seed}\u0000${problemKey}`).slice(0, 13), 16) / 2 ** 52;
}

/** Examples grouped by normalised problem text, so that a problem never sits on both sides. */
function groupByProblem<T extends Splittable>(examples: readonly T[], seed: number): Group<T>[] {
  const groups = new Map<string, Group<T>>();
  for (const example of examples) {
    const key = normalizeProblem(example.problem);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { key: hashUnit(seed, key), members: [] }));
    group.members.push(example);
  }
  return [...groups.values()].sort((a, b) => a.key - b.key);
}

/** Takes groups in hash order until `target` examples are in validation. */
function takeSmallest<T extends Splittable>(groups: Group<T>[], target: number, validation: Set<Group<T>>): void {
  let taken = 0;
  for (const group of groups) {
    if (taken >= target) break;
    validation.add(group);
    taken += group.members.length;
  }
}

/** Validation count per stratum, proportional to its size (largest remainders), summing to `total`. */
function allocate(sizes: number[], total: number): number[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => (s * total) / n);
  const counts = exact.map(Math.floor);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0, left = total - counts.reduce((a, b) => a + b, 0); k < left; k++) counts[order[k][1]]++;
  return counts;
}

/**
 * Seeded, hash-based train/validation split. Each problem is placed by a hash of (seed, normalised problem),
 * not by its position, so duplicates share a side and the split is stable as rows are added: with a fraction
 * and no stratification a row's side never changes; with a count (or stratified) the validation set is the
 * rows with the smallest hashes, so new rows can only push validation rows into train, never the reverse.
 */
export function splitExamples<T extends Splittable = MathExample>(examples: readonly T[], options: SplitOptions): { train: T[]; validation: T[] } {
  const { validation: size, seed, stratify } = parseSettings(splitSettings, options, "Split");
  const isFraction = size < 1;
  const groups = groupByProblem(examples, seed);
  const validation = new Set<Group<T>>();
  if (isFraction && !stratify) {
    for (const group of groups) if (group.key < size) validation.add(group);
  } else {
    const target = isFraction ? Math.round(size * examples.length) : Math.min(size, examples.length);
    if (!stratify) {
      takeSmallest(groups, target, validation);
    } else {
      const strata = new Map<string, Group<T>[]>();
      for (const group of groups) {
        const type = group.members[0].problemType;
        strata.set(type, [...(strata.get(type) ?? []), group]);
      }
      const names = [...strata.keys()].sort();
      const sizes = names.map((name) => strata.get(name)!.reduce((n, g) => n + g.members.length, 0));
      const counts = allocate(sizes, target);
      names.forEach((name, i) => takeSmallest(strata.get(name)!, counts[i], validation));
    }
  }
  const split: { train: T[]; validation: T[] } = { train: [], validation: [] };
  // Keep the input order on each side.
  const side = new Map<T, boolean>();
  for (const group of groups) for (const m of group.members) side.set(m, validation.has(group));
  for (const example of examples) (side.get(example) ? split.validation : split.train).push(example);
  if (split.train.length === 0 && examples.length > 0) {
    throw new RangeError(`validation size ${size} leaves no training examples (${examples.length} examples in all)`);
  }
  return split;
}
