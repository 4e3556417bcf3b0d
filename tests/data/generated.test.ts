import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  DEFAULT_GENERATED_COUNT,
  DEFAULT_GENERATED_SEED,
  dataSourceFrom,
  describeSource,
  generatedRow,
  generateProblem,
  generateProblems,
  loadMathExamples,
  parseCoreRow,
  prepareDataset,
  problemPool,
  PROBLEM_FAMILIES,
  readSourceRows,
  solutionText,
  toMathExample,
  type GeneratedProblem,
} from "../../src/data/index.js";
import { accuracyReward, reasoningStepsReward } from "../../src/eval/rewards.js";
import { seededRandom } from "../../src/rng.js";
import { collect } from "./helpers.js";

const finetune = [...generateProblems({ seed: 11, pool: "finetune", count: 5000 })];
const pretrain = [...generateProblems({ seed: 11, pool: "pretrain", count: 5000 })];
const problems = [...finetune, ...pretrain];

const EQUATION = /(\d+) ([+\-×÷]) (\d+) = (\d+)/g;
const numbers = (text: string) => [...text.matchAll(/\d+/g)].map((m) => Number(m[0]));

/** a op b, from the text's symbols. */
function apply(a: number, op: string, b: number): number {
  if (op === "+") return a + b;
  if (op === "-") return a - b;
  if (op === "×") return a * b;
  if (op === "÷") return a / b;
  throw new Error(`unknown operator ${op}`);
}

/** The answer of a word problem, worked out sentence by sentence from its text. */
function solveWordProblem(problem: string): number {
  let total = 0;
  for (const sentence of problem.split(/(?<=[.?]) /)) {
    const containers = sentence.match(/^\w+ (has|buys) (\d) (bags|boxes|packs) with (\d) (\w+) in each (bag|box|pack)\.$/);
    const has = sentence.match(/^\w+ has (\d+) \w+\.$/);
    const more = sentence.match(/^(?:Then )?\w+ buys (\d+) more \w+\.$/i);
    const gives = sentence.match(/^\w+ gives away (\d+) \w+\.$/);
    if (containers) total += Number(containers[2]) * Number(containers[4]);
    else if (has) total = Number(has[1]);
    else if (more) total += Number(more[1]);
    else if (gives) total -= Number(gives[1]);
    else assert.match(sentence, /^How many (\w+) does (he|she) (have now|buy)\?$/, `unexpected sentence '${sentence}'`);
  }
  return total;
}

/** The answer recomputed from the problem text alone, checking the family's number ranges on the way. */
function solveFromText(p: GeneratedProblem): number {
  if (p.family === "chain") {
    const m = p.problem.match(/^Compute (\d{1,2}(?: [+-] \d{1,2}){1,2})\.$/);
    assert.ok(m, p.problem);
    const tokens = m[1].split(" ");
    let total = Number(tokens[0]);
    for (let i = 1; i < tokens.length; i += 2) {
      total = apply(total, tokens[i], Number(tokens[i + 1]));
      assert.ok(total >= 0 && total < 200, `intermediate ${total} out of range in '${p.problem}'`);
    }
    return total;
  }
  if (p.family === "times-plus") {
    const m = p.problem.match(/^Compute (\d) × (\d) ([+-]) (\d{1,2})\.$/);
    assert.ok(m, p.problem);
    return apply(Number(m[1]) * Number(m[2]), m[3], Number(m[4]));
  }
  if (p.family === "linear-equation") {
    const m = p.problem.match(/^Solve for x: ([1-9])?x(?: ([+-]) (\d{1,2}))? = (\d{1,3})\.$/);
    assert.ok(m, p.problem);
    const a = Number(m[1] ?? 1);
    const b = m[2] === undefined ? 0 : m[2] === "+" ? Number(m[3]) : -Number(m[3]);
    const c = Number(m[4]);
    const ax = c - b;
    assert.ok(c < 200 && ax >= 0 && ax < 200, `a·x = ${ax} out of range in '${p.problem}'`);
    const x = ax / a;
    assert.ok(Number.isInteger(x) && x >= 0 && x <= 30, `x = ${x} in '${p.problem}'`);
    return x;
  }
  assert.ok(p.family === "word-shopping" || p.family === "word-giving", p.family);
  assert.ok(numbers(p.problem).every((n) => n >= 1 && n <= 99), p.problem);
  return solveWordProblem(p.problem);
}

describe("generated problems (src/data/generated)", () => {
  it("has 4–6 families, each drawn about equally often, with OpenR1 problem_type labels", () => {
    assert.ok(PROBLEM_FAMILIES.length >= 4 && PROBLEM_FAMILIES.length <= 6);
    const random = seededRandom(3);
    const counts = new Map<string, number>();
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const p = generateProblem(random);
      counts.set(p.family, (counts.get(p.family) ?? 0) + 1);
      assert.ok(["Algebra", "Number Theory", "Other"].includes(p.problemType), p.problemType);
    }
    assert.deepEqual([...counts.keys()].sort(), [...PROBLEM_FAMILIES].sort());
    for (const [family, count] of counts) assert.ok(Math.abs(count / n - 1 / PROBLEM_FAMILIES.length) < 0.03, `${family}: ${count}`);
  });

  it("every answer, recomputed from the problem text, is the generated answer: a whole number in 0..199", () => {
    for (const p of problems) {
      assert.match(p.answer, /^\d+$/);
      assert.ok(Number(p.answer) < 200);
      assert.equal(solveFromText(p), Number(p.answer), p.problem);
    }
  });

  it("every step states true arithmetic 'a op b = c' within the ranges, the last one giving the answer", () => {
    for (const p of problems) {
      assert.ok(p.steps.length >= 1 && p.steps.length <= 3, p.problem);
      let last: number | undefined;
      p.steps.forEach((step, i) => {
        assert.ok(step.startsWith(i === 0 ? "First, " : "Next, "), step);
        const equations = [...step.matchAll(EQUATION)];
        assert.ok(equations.length >= 1, `no computation in '${step}'`);
        for (const [text, a, op, b, c] of equations) {
          assert.equal(apply(Number(a), op, Number(b)), Number(c), text);
          if (op === "×") assert.ok(Number(a) <= 9 && Number(b) <= 9, `not the times table: ${text}`);
          last = Number(c);
        }
        assert.ok(numbers(step).every((n) => n < 200), step);
        assert.doesNotMatch(step, /[\\$]/, "LaTeX only in the boxed answer");
      });
      assert.equal(last, Number(p.answer), p.problem);
    }
  });

  it("the solution is the steps, then the boxed answer, and earns the reasoning-steps and accuracy rewards", () => {
    for (const p of problems) {
      const lines = solutionText(p).split("\n");
      assert.deepEqual(lines.slice(0, -1), p.steps);
      assert.equal(lines[lines.length - 1], `Finally, the answer is \\boxed{${p.answer}}.`);
      assert.ok(reasoningStepsReward(solutionText(p)) >= 2 / 3, solutionText(p));
    }
    for (const p of problems.slice(0, 40)) assert.equal(accuracyReward(solutionText(p), p.answer), 1, solutionText(p));
  });

  it("is deterministic: the same seed gives the same problems, another seed others", () => {
    const a = [...generateProblems({ seed: 5, pool: "finetune", count: 300 })];
    const b = [...generateProblems({ seed: 5, pool: "finetune", count: 300 })];
    const c = [...generateProblems({ seed: 6, pool: "finetune", count: 300 })];
    assert.deepEqual(a, b);
    assert.deepEqual([...generateProblems({ seed: 5, pool: "finetune", count: 1000 })].slice(0, 300), a, "count only decides where to stop");
    const shared = new Set(a.map((p) => p.problem));
    assert.ok(c.filter((p) => shared.has(p.problem)).length < 30);
  });

  it("yields distinct texts: at least 5,000 per pool", () => {
    assert.equal(finetune.length, 5000);
    assert.equal(pretrain.length, 5000);
    assert.equal(new Set(finetune.map((p) => p.problem)).size, 5000);
    assert.equal(new Set(pretrain.map((p) => p.problem)).size, 5000);
  });

  it("splits problems into disjoint, stable pools: ~25% fine-tuning", () => {
    assert.ok(finetune.every((p) => problemPool(p.problem) === "finetune"));
    assert.ok(pretrain.every((p) => problemPool(p.problem) === "pretrain"));
    const pretrainTexts = new Set(pretrain.map((p) => p.problem));
    assert.ok(finetune.every((p) => !pretrainTexts.has(p.problem)));
    // Texts the preprocessor would dedupe as one problem share a pool.
    for (const p of finetune.slice(0, 200)) assert.equal(problemPool(`  ${p.problem.toUpperCase()} `), "finetune");
    const random = seededRandom(9);
    const drawn = Array.from({ length: 4000 }, () => problemPool(generateProblem(random).problem));
    const share = drawn.filter((pool) => pool === "finetune").length / drawn.length;
    assert.ok(share > 0.22 && share < 0.28, `finetune share ${share}`);
  });
});

describe("generated rows (OpenR1-Math-220k schema)", () => {
  it("fill the 14 columns: one complete, verified trace of the steps in <think> then the solution", () => {
    for (const p of finetune.slice(0, 200)) {
      const row = generatedRow(p);
      const trace = `<think>\n${p.steps.join("\n")}\n</think>\n\n${solutionText(p)}`;
      const h = createHash("sha256").update(p.problem).digest("hex");
      assert.deepEqual(row, {
        problem: p.problem,
        solution: solutionText(p),
        answer: p.answer,
        problem_type: p.problemType,
        question_type: "math-word-problem",
        source: "openr1-ts-generated",
        uuid: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`,
        is_reasoning_complete: [true],
        generations: [trace],
        correctness_math_verify: [true],
        correctness_llama: null,
        finish_reasons: ["stop"],
        correctness_count: 1,
        messages: [
          { role: "user", content: p.problem },
          { role: "assistant", content: trace },
        ],
      });
    }
    for (const p of finetune.slice(0, 20)) assert.equal(accuracyReward(generatedRow(p).generations[0], p.answer), 1);
  });

  it("pass parseCoreRow and toMathExample, whose reasoning is the trace", () => {
    finetune.slice(0, 200).forEach((p, i) => {
      const row = generatedRow(p);
      const example = toMathExample(parseCoreRow({ ...row }, "generated", i + 1));
      assert.equal(example.id, row.uuid);
      assert.equal(example.problem, p.problem);
      assert.equal(example.solution, solutionText(p));
      assert.equal(example.answer, p.answer);
      assert.equal(example.reasoning, row.generations[0]);
      assert.equal(example.problemType, p.problemType);
      assert.equal(example.source, "openr1-ts-generated");
    });
  });
});

describe("the generated data source", () => {
  it("is spelled 'generated' with exported defaults and described", () => {
    assert.deepEqual(dataSourceFrom("generated"), { kind: "generated", seed: DEFAULT_GENERATED_SEED, count: DEFAULT_GENERATED_COUNT });
    assert.equal(DEFAULT_GENERATED_SEED, 0);
    assert.equal(DEFAULT_GENERATED_COUNT, 2000);
    assert.match(describeSource({ kind: "generated", seed: 4, count: 10 }), /generated.*4|4.*generated/);
  });

  it("reads fine-tuning-pool rows with 1-based row numbers, respecting limit", async () => {
    const rows = await collect(readSourceRows({ kind: "generated", seed: 4, count: 50 }));
    assert.equal(rows.length, 50);
    rows.forEach(({ row, file, rowNumber }, i) => {
      assert.equal(file, "generated:seed=4");
      assert.equal(rowNumber, i + 1);
      assert.equal(problemPool(row.problem as string), "finetune");
    });
    const expected = [...generateProblems({ seed: 4, pool: "finetune", count: 50 })].map((p) => ({ ...generatedRow(p) }));
    assert.deepEqual(rows.map((r) => r.row), expected);
    assert.equal((await collect(readSourceRows({ kind: "generated", seed: 4, count: 50 }, { limit: 7 }))).length, 7);
    assert.equal((await collect(readSourceRows({ kind: "generated", seed: 4, count: 5 }, { limit: 7 }))).length, 5);
  });

  it("loads with the default filters keeping every row, and prepares a split", async () => {
    const { examples, report, files } = await loadMathExamples(dataSourceFrom("generated"));
    assert.equal(report.rowsRead, DEFAULT_GENERATED_COUNT);
    assert.equal(report.kept, DEFAULT_GENERATED_COUNT);
    assert.deepEqual(files, ["generated:seed=0"]);
    assert.ok(examples.every((e) => e.reasoning?.startsWith("<think>\nFirst, ") && e.reasoning.endsWith(`\\boxed{${e.answer}}.`)));

    const limited = await loadMathExamples({ kind: "generated", seed: 0, count: 2000 }, { limit: 25 });
    assert.deepEqual(limited.examples, examples.slice(0, 25));

    const prepared = await prepareDataset({ kind: "generated", seed: 2, count: 300 }, { split: { validation: 0.1, seed: 0, stratify: true } });
    assert.equal(prepared.split.train.length + prepared.split.validation.length, 300);
    assert.equal(prepared.split.validation.length, 30);
  });
});
