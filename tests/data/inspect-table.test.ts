import { test } from "node:test";
import assert from "node:assert/strict";
import { dataFrameTable, examplesDataFrame, loadEmbeddedSample } from "../../src/data/index.js";

test("a DataFrame as a table: the index first, floats rounded (danfojs prints 12 digits and wraps wide frames)", async () => {
  const { examples } = await loadEmbeddedSample();
  const df = examplesDataFrame(examples);
  const head = dataFrameTable(df.head(2));
  assert.deepEqual(head.columns, ["", "id", "problemType", "questionType", "source", "answer", "problemChars", "solutionChars", "reasoningChars"]);
  assert.deepEqual(head.data.map((r) => r[0]), [0, 1]);
  assert.equal(head.data[0]![6], examples[0]!.problem.length);
  const stats = dataFrameTable(df.loc({ columns: ["problemChars"] }).describe());
  const mean = stats.data.find((r) => r[0] === "mean")![1] as number;
  const exact = examples.reduce((s, e) => s + e.problem.length, 0) / examples.length;
  assert.equal(mean, Number(exact.toFixed(2)));
});
