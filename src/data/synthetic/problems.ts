/**
 * Seeded maths problems with step-by-step solutions, small enough for a tiny model to learn: Qwen2.5's tokenizer
 * writes numbers digit by digit, so operands have 1–2 digits, every intermediate and final result is a whole
 * number in 0..199, and multiplication stays within the times table.
 */
import { seededRandom } from "../../rng.js";
import { normalizeProblem, sha256Hex } from "../normalize.js";

export interface GeneratedProblem {
  /** The problem statement (plain text, numbers as digits, e.g. "Compute 23 + 45 - 17."). */
  problem: string;
  /** The reasoning steps, one sentence each, in order: "First, …" then "Next, …". */
  steps: string[];
  /** The final answer as a string of digits. */
  answer: string;
  /** Which family made it (one of PROBLEM_FAMILIES). */
  family: string;
  /** OpenR1-Math-220k's problem_type label. */
  problemType: string;
}

/** A problem before its steps get their "First,"/"Next," openers. */
interface Draft {
  problem: string;
  /** Each step's sentence without its opener, e.g. "23 + 45 = 68." */
  sentences: string[];
  answer: number;
}

interface Family {
  name: string;
  problemType: string;
  /** A draft, or undefined when a number left its range (the generator draws again). */
  draw(random: () => number): Draft | undefined;
}

const MAX_VALUE = 199;

type Op = "+" | "-" | "×" | "÷";

function int(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function inRange(...values: number[]): boolean {
  return values.every((v) => Number.isInteger(v) && v >= 0 && v <= MAX_VALUE);
}

/** A computation written out as "a op b = c". */
interface Calc {
  text: string;
  value: number;
}

function calc(a: number, op: Op, b: number): Calc {
  const value = op === "+" ? a + b : op === "-" ? a - b : op === "×" ? a * b : a / b;
  return { text: `${a} ${op} ${b} = ${value}`, value };
}

const chain: Family = {
  name: "chain",
  problemType: "Algebra",
  draw(random) {
    const operands = Array.from({ length: int(random, 2, 3) }, () => int(random, 1, 99));
    const ops = operands.slice(1).map(() => pick(random, ["+", "-"] as const));
    let total = operands[0];
    const sentences: string[] = [];
    for (let i = 0; i < ops.length; i++) {
      const step = calc(total, ops[i], operands[i + 1]);
      if (!inRange(step.value)) return undefined;
      sentences.push(`${step.text}.`);
      total = step.value;
    }
    const expression = operands.map((n, i) => (i === 0 ? `${n}` : `${ops[i - 1]} ${n}`)).join(" ");
    return { problem: `Compute ${expression}.`, sentences, answer: total };
  },
};

const timesPlus: Family = {
  name: "times-plus",
  problemType: "Algebra",
  draw(random) {
    const a = int(random, 2, 9);
    const b = int(random, 2, 9);
    const op = pick(random, ["+", "-"] as const);
    const c = int(random, 1, 99);
    const product = calc(a, "×", b);
    const result = calc(product.value, op, c);
    if (!inRange(result.value)) return undefined;
    return { problem: `Compute ${a} × ${b} ${op} ${c}.`, sentences: [`${product.text}.`, `${result.text}.`], answer: result.value };
  },
};

/** ax + b = c, ax - b = c, ax = c (and the same with a = 1), solved by undoing the constant, then the coefficient. */
const linearEquation: Family = {
  name: "linear-equation",
  problemType: "Algebra",
  draw(random) {
    const x = int(random, 0, 30);
    const a = int(random, 1, 9);
    const op = pick(random, ["+", "-", null] as const);
    const b = int(random, 1, 99);
    if (a === 1 && op === null) return undefined;
    const ax = a * x;
    const c = op === null ? ax : calc(ax, op, b).value;
    if (!inRange(ax, c)) return undefined;
    const term = a === 1 ? "x" : `${a}x`;
    const sentences: string[] = [];
    if (op === "+") sentences.push(`subtract ${b} from both sides: ${term} = ${calc(c, "-", b).text}.`);
    if (op === "-") sentences.push(`add ${b} to both sides: ${term} = ${calc(c, "+", b).text}.`);
    if (a > 1) sentences.push(`divide both sides by ${a}: x = ${calc(ax, "÷", a).text}.`);
    const lhs = op === null ? term : `${term} ${op} ${b}`;
    return { problem: `Solve for x: ${lhs} = ${c}.`, sentences, answer: x };
  },
};

const PEOPLE = [
  ["Mia", "she"],
  ["Leo", "he"],
  ["Ava", "she"],
  ["Sam", "he"],
  ["Zoe", "she"],
  ["Ben", "he"],
  ["Lily", "she"],
  ["Tom", "he"],
] as const;
const ITEMS = ["apples", "pencils", "stickers", "cookies", "marbles", "cards"] as const;
const CONTAINERS = [
  ["bag", "bags"],
  ["box", "boxes"],
  ["pack", "packs"],
] as const;

/** The names and words one word problem is written with. */
interface Story {
  name: string;
  /** The pronoun, lower case, and capitalised to open a sentence. */
  pronoun: string;
  Pronoun: string;
  items: string;
  container: string;
  containers: string;
}

function story(random: () => number): Story {
  const [name, pronoun] = pick(random, PEOPLE);
  const [container, containers] = pick(random, CONTAINERS);
  return { name, pronoun, Pronoun: pronoun[0].toUpperCase() + pronoun.slice(1), items: pick(random, ITEMS), container, containers };
}

type Template = (random: () => number, s: Story) => Draft | undefined;

/** n containers of k items: the times-table step of the word problems. */
function containerStep(s: Story, n: number, k: number): { phrase: string; sentence: string; total: number } {
  const product = calc(n, "×", k);
  return {
    phrase: `${n} ${s.containers} with ${k} ${s.items} in each ${s.container}`,
    sentence: `${n} ${s.containers} of ${k} ${s.items} is ${product.text} ${s.items}.`,
    total: product.value,
  };
}

/** Word problems end on two or more items (never "1 apples"). */
function wordDraft(problem: string, calcs: Calc[], s: Story, lead: string[] = []): Draft | undefined {
  const answer = calcs[calcs.length - 1].value;
  if (!inRange(...calcs.map((c) => c.value)) || calcs.some((c) => c.value < 2)) return undefined;
  return { problem, sentences: [...lead, ...calcs.map((c) => `${c.text} ${s.items}.`)], answer };
}

const SHOPPING: Template[] = [
  (random, s) => {
    const have = int(random, 2, 50);
    const bought = containerStep(s, int(random, 2, 9), int(random, 2, 9));
    const problem = `${s.name} has ${have} ${s.items}. ${s.Pronoun} buys ${bought.phrase}. How many ${s.items} does ${s.pronoun} have now?`;
    return wordDraft(problem, [calc(have, "+", bought.total)], s, [bought.sentence]);
  },
  (random, s) => {
    const bought = containerStep(s, int(random, 2, 9), int(random, 2, 9));
    const problem = `${s.name} buys ${bought.phrase}. How many ${s.items} does ${s.pronoun} buy?`;
    return { problem, sentences: [bought.sentence], answer: bought.total };
  },
  (random, s) => {
    const have = int(random, 2, 50);
    const more = int(random, 2, 30);
    const problem = `${s.name} has ${have} ${s.items}. ${s.Pronoun} buys ${more} more ${s.items}. How many ${s.items} does ${s.pronoun} have now?`;
    return wordDraft(problem, [calc(have, "+", more)], s);
  },
];

const GIVING: Template[] = [
  (random, s) => {
    const have = int(random, 2, 50);
    const given = int(random, 2, 30);
    const problem = `${s.name} has ${have} ${s.items}. ${s.Pronoun} gives away ${given} ${s.items}. How many ${s.items} does ${s.pronoun} have now?`;
    return wordDraft(problem, [calc(have, "-", given)], s);
  },
  (random, s) => {
    const have = int(random, 2, 50);
    const given = int(random, 2, 30);
    const more = int(random, 2, 30);
    const left = calc(have, "-", given);
    const problem =
      `${s.name} has ${have} ${s.items}. ${s.Pronoun} gives away ${given} ${s.items}. ` +
      `Then ${s.pronoun} buys ${more} more ${s.items}. How many ${s.items} does ${s.pronoun} have now?`;
    return wordDraft(problem, [left, calc(left.value, "+", more)], s);
  },
  (random, s) => {
    const owned = containerStep(s, int(random, 2, 9), int(random, 2, 9));
    const given = int(random, 2, 30);
    const problem = `${s.name} has ${owned.phrase}. ${s.Pronoun} gives away ${given} ${s.items}. How many ${s.items} does ${s.pronoun} have now?`;
    return wordDraft(problem, [calc(owned.total, "-", given)], s, [owned.sentence]);
  },
];

function wordFamily(name: string, templates: Template[]): Family {
  return { name, problemType: "Other", draw: (random) => pick(random, templates)(random, story(random)) };
}

const FAMILIES: readonly Family[] = [chain, timesPlus, linearEquation, wordFamily("word-shopping", SHOPPING), wordFamily("word-giving", GIVING)];

export const PROBLEM_FAMILIES: readonly string[] = FAMILIES.map((f) => f.name);

/** One problem from a family chosen uniformly at random. */
export function generateProblem(random: () => number): GeneratedProblem {
  const family = pick(random, FAMILIES);
  for (;;) {
    const draft = family.draw(random);
    if (!draft) continue;
    return {
      problem: draft.problem,
      steps: draft.sentences.map((s, i) => `${i === 0 ? "First" : "Next"}, ${s}`),
      answer: String(draft.answer),
      family: family.name,
      problemType: family.problemType,
    };
  }
}

/** Which corpus a problem belongs to: "pretrain" (~75%) or "finetune" (~25%). */
export type ProblemPool = "pretrain" | "finetune";

/**
 * From a hash of the normalised text, so that problems the preprocessor would count as duplicates of each other
 * always land in the same pool.
 */
export function problemPool(problem: string): ProblemPool {
  return parseInt(sha256Hex(normalizeProblem(problem)).slice(0, 8), 16) % 4 === 0 ? "finetune" : "pretrain";
}

/** Draws in a row without a new problem before concluding that the pool has no more. */
const MAX_MISSES = 100_000;

/** Distinct problems (by exact text) of one pool, in a deterministic order from the seed; stops after `count`. */
export function* generateProblems(opts: { seed: number; pool: ProblemPool; count: number }): Generator<GeneratedProblem> {
  const random = seededRandom(opts.seed);
  const seen = new Set<string>();
  let misses = 0;
  while (seen.size < opts.count) {
    const p = generateProblem(random);
    if (problemPool(p.problem) !== opts.pool || seen.has(p.problem)) {
      if (++misses > MAX_MISSES) throw new Error(`generateProblems: only ${seen.size} distinct ${opts.pool} problems found, ${opts.count} asked for`);
      continue;
    }
    misses = 0;
    seen.add(p.problem);
    yield p;
  }
}

/** The step-by-step solution: the steps, one a line, then "Finally, the answer is \boxed{N}." */
export function solutionText(p: GeneratedProblem): string {
  return [...p.steps, `Finally, the answer is \\boxed{${p.answer}}.`].join("\n");
}
