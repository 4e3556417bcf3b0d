import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  categoryBarFigure,
  countBy,
  examplesDataFrame,
  lengthHistogramFigure,
  lengthStats,
  quantile,
  splitCategoryFigure,
  type MathExample,
} from "../../src/data/index.js";

const ex = (id: string, problemType: string, problem: string, solution: string, reasoning?: string): MathExample => ({
  id, problem, solution, answer: "1", problemType, questionType: "math-word-problem", source: id === "a" ? "olympiads" : "cn_contest", ...(reasoning ? { reasoning } : {}),
});
const data = [ex("a", "Algebra", "p".repeat(10), "s".repeat(100), "r".repeat(1000)), ex("b", "Geometry", "p".repeat(20), "s".repeat(200)), ex("c", "Algebra", "p".repeat(30), "s".repeat(400), "r".repeat(3000))];

describe("inspection", () => {
  it("counts by category, most frequent first", () => {
    assert.deepEqual(countBy(data, "problemType"), [{ value: "Algebra", count: 2 }, { value: "Geometry", count: 1 }]);
    assert.deepEqual(countBy(data, "source"), [{ value: "cn_contest", count: 2 }, { value: "olympiads", count: 1 }]);
  });

  it("length statistics match hand-computed values (numpy-style linear quantiles)", () => {
    const [problem, solution, reasoning] = lengthStats(data);
    assert.deepEqual(problem, { field: "problem", count: 3, mean: 20, min: 10, p50: 20, p90: 28, max: 30 });
    assert.deepEqual(solution, { field: "solution", count: 3, mean: 700 / 3, min: 100, p50: 200, p90: 360, max: 400 });
    assert.deepEqual(reasoning, { field: "reasoning", count: 2, mean: 2000, min: 1000, p50: 2000, p90: 2800, max: 3000 });
    assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75); // numpy.quantile([1,2,3,4], 0.25)
  });

  it("a danfojs DataFrame with one row per example", () => {
    const df = examplesDataFrame(data);
    assert.deepEqual(df.shape, [3, 8]);
    assert.deepEqual(df.column("problemChars").values, [10, 20, 30]);
    assert.deepEqual(df.column("reasoningChars").values, [1000, 0, 3000]);
  });

  it("figures: histograms per text, category bars, train/validation shares", () => {
    const hist = lengthHistogramFigure(data);
    assert.deepEqual(hist.data.map((t) => [t.type, t.name, t.x]), [["histogram", "problem", [10, 20, 30]], ["histogram", "solution", [100, 200, 400]], ["histogram", "reasoning", [1000, 3000]]]);
    const bars = categoryBarFigure(data, "problemType");
    assert.deepEqual([bars.data[0].x, bars.data[0].y], [["Algebra", "Geometry"], [2, 1]]);
    const shares = splitCategoryFigure({ train: data.slice(0, 2), validation: data.slice(2) }, "problemType");
    assert.deepEqual(shares.data.map((t) => t.y), [[0.5, 0.5], [1, 0]]);
  });
});
