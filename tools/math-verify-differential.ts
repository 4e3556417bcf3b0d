/**
 * Builds a differential test set for the answer checker: (gold, pred) pairs in named families, each judged by the
 * real Math-Verify 0.8.0 (../shared/oracle/math-verify: its own test harness for "compare", open-r1's
 * accuracy_reward for "accuracy"), written with the verdicts to tests/fixtures/eval/differential/seed-<n>.jsonl.
 *
 *   node --import tsx tools/math-verify-differential.ts [--seed 1] [--oracle ../shared/oracle/math-verify/oracle] [--out FILE]
 *   node --import tsx tools/math-verify-differential.ts --check FILE     agreement of the project's checker with FILE
 *
 * Sources: the real OpenR1-Math-220k answers and solutions of the embedded sample, and generated problems with
 * model-style worked answers. Families: each gold answer rewritten into forms Math-Verify should accept
 * (fraction/decimal, \dfrac, thousands separators, units, degrees, "x =", text around the box, …) and forms it
 * should not (off by one, sign, inverted fraction, malformed operators under open-r1's settings, …).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEmbeddedSample } from "../src/data/load.js";
import { generateProblems, solutionText } from "../src/data/synthetic/index.js";
import { accuracyReward } from "../src/eval/rewards.js";
import { checkAnswer, recordOptions } from "../src/eval/verify.js";
import { seededRandom } from "../src/rng.js";
import { HELD_OUT, modelResponsePairs, realisticPairs, responsePairs } from "./differential-families.js";

export type Harness = "compare" | "accuracy";

export interface DifferentialCase {
  family: string;
  harness: Harness;
  gold: string;
  pred: string;
  /** Math-Verify's verdict: compare → true/false; accuracy → 1, 0 or null (open-r1 skips the example). */
  expected: boolean | number | null;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A fraction a/b in lowest terms, or undefined for anything else. */
function fraction(answer: string): [number, number] | undefined {
  const m = /^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$/.exec(answer.trim());
  return m ? [Number(`${m[1]}${m[2]}`), Number(m[3])] : undefined;
}

function integer(answer: string): number | undefined {
  return /^-?\d+$/.test(answer.trim()) ? Number(answer) : undefined;
}

const withCommas = (n: number) => n.toLocaleString("en-US");

/** Forms of a gold answer that Math-Verify should judge equal to it, by family name. */
function equivalentForms(answer: string, pick: <T>(xs: T[]) => T): [string, string][] {
  const out: [string, string][] = [
    ["boxed", `$\\boxed{${answer}}$`],
    ["final-answer-sentence", `Therefore, the final answer is $\\boxed{${answer}}$. I hope it is correct.`],
    ["answer-colon", `Answer: $${answer}$`],
    ["boxed-trailing-period", `so we get \\boxed{${answer}}.`],
    ["variable-equals", `$${pick(["x", "n", "a", "S"])} = ${answer}$`],
  ];
  const n = integer(answer);
  if (n !== undefined) {
    out.push(["decimal-zero", `$\\boxed{${n}.0}$`]);
    out.push(["units-text", `$\\boxed{${n} \\text{ ${pick(["cm", "meters", "km", "days", "units"])}}}$`]);
    out.push(["units-mathrm", `The length is $${n}\\mathrm{~cm}$`]);
    out.push(["degrees", `$\\boxed{${n}^{\\circ}}$`]);
    out.push(["expression", `$\\boxed{\\frac{${2 * n}}{2}}$`]);
    out.push(["plain-text-number", `The answer is ${n}`]);
    out.push(["left-right", `$\\boxed{\\left(${n}\\right)}$`]);
    if (Math.abs(n) >= 1000) {
      out.push(["thousands-comma", `$\\boxed{${withCommas(n)}}$`]);
      out.push(["thousands-braced-comma", `$\\boxed{${withCommas(n).replace(/,/g, "{,}")}}$`]);
      out.push(["thousands-thin-space", `$\\boxed{${withCommas(n).replace(/,/g, "\\,")}}$`]);
      out.push(["scientific", `$\\boxed{${n / 1000} \\times 10^{3}}$`]);
    }
    if (n !== 0) out.push(["percent", `$\\boxed{${n}\\%}$`]);
  }
  const f = fraction(answer);
  if (f) {
    const [a, b] = f;
    out.push(["dfrac", `$\\boxed{\\dfrac{${a}}{${b}}}$`]);
    out.push(["unreduced-fraction", `$\\boxed{\\frac{${2 * a}}{${2 * b}}}$`]);
    out.push(["slash-fraction", `$\\boxed{${a}/${b}}$`]);
    const d = a / b;
    if (Number.isFinite(d) && String(d).length < 10) out.push(["decimal-of-fraction", `$\\boxed{${d}}$`]);
    if (a < 10 && b < 10 && a >= 0) out.push(["malformed-frac", `$\\boxed{\\frac${a}${b}}$`]);
  }
  return out;
}

/** Forms that are not the gold answer. */
function differentForms(answer: string): [string, string][] {
  const out: [string, string][] = [];
  const n = integer(answer);
  if (n !== undefined) {
    out.push(["off-by-one", `$\\boxed{${n + 1}}$`]);
    if (n !== 0) out.push(["sign-flip", `$\\boxed{${-n}}$`]);
    out.push(["times-ten", `$\\boxed{${n * 10}}$`]);
    out.push(["wrong-last-box", `First $\\boxed{${n}}$ was a guess; in fact $\\boxed{${n + 2}}$.`]);
  }
  const f = fraction(answer);
  if (f && f[0] !== 0 && Math.abs(f[0]) !== f[1]) out.push(["inverted-fraction", `$\\boxed{\\frac{${f[1]}}{${f[0]}}}$`]);
  if (n === undefined && !f) out.push(["other-answer", "$\\boxed{7}$"]);
  return out;
}

/**
 * Answers of other shapes, where checkers disagree most: relations, sets and tuples, several boxes, repeating
 * decimals, matrices, binomials, subscripted bases, degrees, intervals, inequalities, surds. Each template gives a
 * gold answer and (family, prediction) pairs, some equivalent and some not, for random small numbers.
 */
function structuredPairs(rnd: (lo: number, hi: number) => number): { family: string; gold: string; pred: string }[] {
  const a = rnd(2, 9), b = rnd(a + 1, 19), c = rnd(2, 9), k = rnd(2, 5);
  const pairs: [string, string, string][] = [
    ["relation/approx", `${a}.${c}`, `$x \\approx ${a}.${c}$`],
    ["relation/approx-surd", `${a}.${c}`, `$\\sqrt{${a * a + c}} \\approx ${a}.${c}$`],
    ["relation/in-interval", `[${a}, ${b})`, `$x \\in [${a}, ${b})$`],
    ["relation/length-equals", String(b), `$|AB| = ${b}$`],
    ["relation/equations-as-tuple", `(${a}, ${b})`, `$x = ${a}, y = ${b}$`],
    ["relation/or-solutions", `${a}, ${b}`, `$x = ${a} \\text{ or } x = ${b}$`],
    ["relation/chained", String(b), `$AB = \\sqrt{${b * b}} = ${b}$`],
    ["set/reordered", `\\{${a}, ${b}, ${c + 20}\\}`, `$\\{${c + 20}, ${a}, ${b}\\}$`],
    ["set/duplicates", `\\{${a}, ${b}\\}`, `$\\{${a}, ${a}, ${b}\\}$`],
    ["set/semicolon", `${a}, ${b}`, `$\\boxed{${a}; ${b}}$`],
    ["tuple/reordered", `(${a}, ${b})`, `$(${b}, ${a})$`],
    ["tuple/same", `(${a}, ${b})`, `$\\left(${a}, ${b}\\right)$`],
    ["boxes/two", `${a}, ${b}`, `$\\boxed{${a}}$ and $\\boxed{${b}}$`],
    ["boxes/two-one-wrong", `${a}, ${b}`, `$\\boxed{${a}}$ and $\\boxed{${b + 1}}$`],
    ["number/repeating-decimal", `\\frac{${a}}{9}`, `$0.\\overline{${a}}$`],
    ["number/trailing-period-in-box", String(b), `$\\boxed{${b}.}$`],
    ["number/mixed", `\\frac{${2 * c + 1}}{2}`, `$${c}\\frac{1}{2}$`],
    ["matrix/same", `\\begin{pmatrix} ${a} & ${b} \\\\ ${c} & ${k} \\end{pmatrix}`, `$\\begin{bmatrix} ${a} & ${b} \\\\ ${c} & ${k} \\end{bmatrix}$`],
    ["matrix/trailing-row-break", `\\begin{pmatrix} ${a} \\\\ ${b} \\end{pmatrix}`, `$\\begin{pmatrix} ${a} \\\\ ${b} \\\\ \\end{pmatrix}$`],
    ["matrix/different", `\\begin{pmatrix} ${a} & ${b} \\end{pmatrix}`, `$\\begin{pmatrix} ${b} & ${a} \\end{pmatrix}$`],
    ["binomial", String((b * (b - 1)) / 2), `$\\boxed{\\binom{${b}}{2}}$`],
    ["subscript-base", String(b), `$\\boxed{${b}_{10}}$`],
    ["degrees/symbol", String(10 * a), `The angle is $${10 * a}°$`],
    ["degrees/angle-equals", String(10 * a), `$\\angle A = ${10 * a}^\\circ$`],
    ["interval/inequality", `(-\\infty, ${a}]`, `$x \\le ${a}$`],
    ["interval/open", `(${a}, \\infty)`, `$x > ${a}$`],
    ["surd/simplified", `${k}\\sqrt{2}`, `$\\boxed{\\sqrt{${2 * k * k}}}$`],
    ["surd/different", `${k}\\sqrt{2}`, `$\\boxed{\\sqrt{${2 * k * k + 1}}}$`],
    ["pi/fraction", `\\frac{\\pi}{${a}}`, `$\\boxed{\\pi/${a}}$`],
    ["text/units-inside", String(b), `$\\boxed{\\text{${b} meters}}$`],
    ["text/answer-word", String(b), `The final answer is ${b} apples.`],
  ];
  return pairs.map(([family, gold, pred]) => ({ family: `structured:${family}`, gold, pred }));
}

/** The cases for one seed: every source answer in its forms, plus whole responses, under both harnesses. */
export async function buildCases(seed: number): Promise<Omit<DifferentialCase, "expected">[]> {
  const random = seededRandom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
  const sources: { origin: string; answer: string; response?: string }[] = [];
  for (const e of (await loadEmbeddedSample()).examples) sources.push({ origin: "openr1", answer: e.answer, response: e.solution });
  for (const p of generateProblems({ seed: 1000 + seed, pool: "finetune", count: 160 })) {
    sources.push({ origin: "generated", answer: p.answer, response: solutionText(p) });
  }
  // Fractions and large numbers, which the generated problems (whole numbers up to 199) never give.
  for (let i = 0; i < 40; i++) {
    const b = 2 + Math.floor(random() * 11);
    const a = 1 + Math.floor(random() * (3 * b));
    const g = gcd(a, b);
    if (b / g > 1) sources.push({ origin: "fractions", answer: `\\frac{${a / g}}{${b / g}}` });
    sources.push({ origin: "large-numbers", answer: String(1000 + Math.floor(random() * 9_000_000)) });
  }
  // A seeded sample of each answer's forms keeps the oracle's work to minutes (it judges ~10 cases/s).
  const sample = <T>(xs: T[], k: number): T[] => {
    const copy = [...xs];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, k);
  };
  const cases: Omit<DifferentialCase, "expected">[] = [];
  const seen = new Set<string>();
  const rnd = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  for (let i = 0; i < 30; i++) {
    for (const p of structuredPairs(rnd)) {
      for (const c of [
        { family: p.family, harness: "compare" as const, gold: `$${p.gold}$`, pred: p.pred },
        { family: p.family, harness: "accuracy" as const, gold: `$${p.gold}$`, pred: p.pred },
      ]) {
        const key = JSON.stringify([c.harness, c.gold, c.pred]);
        if (!seen.has(key)) cases.push(c);
        seen.add(key);
      }
    }
  }
  for (const s of sources) {
    const forms: (readonly [string, string])[] = [
      ...sample(equivalentForms(s.answer, pick), 5).map(([f, p]) => [`equivalent/${f}`, p] as const),
      ...sample(differentForms(s.answer), 2).map(([f, p]) => [`different/${f}`, p] as const),
    ];
    if (s.response) forms.push([`response/${s.origin}-solution`, s.response]);
    for (const [family, pred] of forms) {
      for (const c of [
        { family: `${s.origin}:${family}`, harness: "compare" as const, gold: `$${s.answer}$`, pred },
        { family: `${s.origin}:${family}`, harness: "accuracy" as const, gold: s.answer, pred },
      ]) {
        const key = JSON.stringify([c.harness, c.gold, c.pred]);
        if (!seen.has(key)) cases.push(c);
        seen.add(key);
      }
    }
  }
  // Answers as models and textbooks write them (differential-families.ts), from their own random stream so that the
  // cases above stay the same for a seed.
  const random2 = seededRandom(seed * 7919 + 17);
  const pick2 = <T>(xs: T[]): T => xs[Math.floor(random2() * xs.length)]!;
  const rnd2 = (lo: number, hi: number) => lo + Math.floor(random2() * (hi - lo + 1));
  const extra: { family: string; gold: string; pred: string }[] = [];
  for (let i = 0; i < REALISTIC_DRAWS; i++) extra.push(...realisticPairs(rnd2, pick2));
  const openr1 = (await loadEmbeddedSample()).examples;
  for (let i = 0; i < 2; i++) extra.push(...responsePairs(openr1, pick2, rnd2));
  for (let i = 0; i < 6; i++) extra.push(...modelResponsePairs(pick2, rnd2));
  for (const p of extra) {
    for (const c of [
      { family: p.family, harness: "compare" as const, gold: `$${p.gold}$`, pred: p.pred },
      // open-r1 gets the dataset's answer column, bare or in `$…$`.
      { family: p.family, harness: "accuracy" as const, gold: random2() < 0.5 ? p.gold : `$${p.gold}$`, pred: p.pred },
    ]) {
      const key = JSON.stringify([c.harness, c.gold, c.pred]);
      if (!seen.has(key)) cases.push(c);
      seen.add(key);
    }
  }
  return cases;
}

/** Draws of every realistic template per seed. */
const REALISTIC_DRAWS = 12;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The oracle's verdict for every case (one oracle process per harness). */
export function judge(cases: Omit<DifferentialCase, "expected">[], oracle: string, known: DifferentialCase[] = []): DifferentialCase[] {
  const verdicts = new Map(known.map((c) => [JSON.stringify([c.harness, c.gold, c.pred]), c.expected]));
  const out: DifferentialCase[] = [];
  for (const c of cases) {
    const key = JSON.stringify([c.harness, c.gold, c.pred]);
    if (verdicts.has(key)) out.push({ ...c, expected: verdicts.get(key)! });
  }
  const todo = cases.filter((c) => !verdicts.has(JSON.stringify([c.harness, c.gold, c.pred])));
  for (const harness of ["compare", "accuracy"] as const) {
    const mine = todo.filter((c) => c.harness === harness);
    if (mine.length === 0) continue;
    const input = join(mkdtempSync(join(tmpdir(), "openr1-oracle-")), `${harness}.jsonl`);
    writeFileSync(input, mine.map((c) => JSON.stringify({ gold: c.gold, pred: c.pred })).join("\n") + "\n");
    const lines = execFileSync(oracle, [harness, input], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n");
    rmSync(dirname(input), { recursive: true, force: true });
    if (lines.length !== mine.length) throw new Error(`the oracle answered ${lines.length} of ${mine.length} ${harness} cases`);
    lines.forEach((line, i) => {
      const v = JSON.parse(line) as { correct?: boolean; reward?: number | null };
      out.push({ ...mine[i]!, expected: harness === "compare" ? Boolean(v.correct) : (v.reward ?? null) });
    });
  }
  return out;
}

/** The project's verdict, in the oracle's terms. */
export function projectVerdict(c: Pick<DifferentialCase, "harness" | "gold" | "pred">): boolean | number | null {
  return c.harness === "compare" ? checkAnswer(c.gold, c.pred, recordOptions({})).correct : accuracyReward(c.pred, c.gold);
}

export function readCases(path: string): DifferentialCase[] {
  return readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as DifferentialCase);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => process.argv.find((_, i, a) => a[i - 1] === name);
  const check = arg("--check");
  if (check) {
    const cases = readCases(check);
    const wrong = cases.filter((c) => projectVerdict(c) !== c.expected);
    const held = cases.filter((c) => HELD_OUT.has(c.family));
    const heldWrong = wrong.filter((c) => HELD_OUT.has(c.family));
    const families = new Set(cases.map((c) => c.family)).size;
    console.log(`${cases.length} cases in ${families} families`);
    const pct = (w: number, n: number) => `${(100 * (1 - w / n)).toFixed(2)}% (${n - w}/${n})`;
    if (held.length) console.log(`held-out families: agreement ${pct(heldWrong.length, held.length)}`);
    for (const [name, test] of [
      ["  first wave (18 families)", (f: string) => !f.startsWith("realistic:unseen")],
      ["  sixth wave (30 families)", (f: string) => f.startsWith("realistic:unseen/")],
      ["  seventh wave (30 families)", (f: string) => f.startsWith("realistic:unseen2/")],
      ["  eighth wave (30 families)", (f: string) => f.startsWith("realistic:unseen3/")],
      ["  ninth wave (30 families)", (f: string) => f.startsWith("realistic:unseen4/")],
      ["  tenth wave (30 families)", (f: string) => f.startsWith("realistic:unseen5/")],
      ["  eleventh wave (30 families)", (f: string) => f.startsWith("realistic:unseen6/")],
    ] as const) {
      const n = held.filter((c) => test(c.family)).length;
      if (n) console.log(`${name}: ${pct(heldWrong.filter((c) => test(c.family)).length, n)}`);
    }
    const byFamily = new Map<string, number>();
    // Held-out families are counted, not listed, unless --show-held-out: they estimate agreement on unseen answers.
    const listed = process.argv.includes("--show-held-out") ? wrong : wrong.filter((c) => !HELD_OUT.has(c.family));
    for (const c of listed) byFamily.set(`${c.harness} ${c.family}`, (byFamily.get(`${c.harness} ${c.family}`) ?? 0) + 1);
    console.log(`agreement ${(100 * (1 - wrong.length / cases.length)).toFixed(2)}% (${cases.length - wrong.length}/${cases.length})`);
    for (const [k, v] of [...byFamily].sort((a, b) => b[1] - a[1])) console.log(`  ${v}  ${k}`);
    if (process.argv.includes("--show")) for (const c of listed.slice(0, Number(arg("--show-count") ?? 40))) console.log(JSON.stringify({ ...c, got: projectVerdict(c) }));
  } else {
    const seed = Number(arg("--seed") ?? 1);
    const oracle = arg("--oracle") ?? join(ROOT, "..", "shared", "oracle", "math-verify", "oracle");
    const out = arg("--out") ?? join(ROOT, "tests", "fixtures", "eval", "differential", `seed-${seed}.jsonl`);
    // --reuse FILE: verdicts already judged for the same (harness, gold, pred) are taken from FILE.
    const reuse = arg("--reuse");
    const built = await buildCases(seed);
    const judged = judge(built, oracle, reuse ? readCases(reuse) : []);
    const order = new Map(built.map((c, i) => [JSON.stringify([c.harness, c.gold, c.pred]), i]));
    const cases = judged.sort((x, y) => order.get(JSON.stringify([x.harness, x.gold, x.pred]))! - order.get(JSON.stringify([y.harness, y.gold, y.pred]))!);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, cases.map((c) => JSON.stringify(c)).join("\n") + "\n");
    console.log(`${cases.length} cases → ${out}`);
  }
}
