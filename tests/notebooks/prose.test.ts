import { test } from "node:test";
import assert from "node:assert/strict";
import { absolutePathProblems, proseNumberProblems, proseNumbers } from "../../environment/check-notebook-prose.js";

const md = (id: string, source: string) => ({ cell_type: "markdown", id, source });
const code = (id: string, ...printed: string[]) => ({ cell_type: "code", id, source: "…", outputs: printed.map((text) => ({ output_type: "stream", text })) });

test("prose numbers: measured numbers are checked; code, names, headings, list numbers and single digits are not", () => {
  const found = proseNumbers(
    "# 03 · Training\n\n1. **formatting** in `maxSeqLength` `256` tokens\n" +
      "Qwen2.5-0.5B has a 151,936-token embedding; 4 layers; accuracy about 77 %, loss 1.224, see [x](https://a.b/c?d=123).\n" +
      "```bash\nnpm run openr1 -- train --max-steps 500\n```\n<code>999</code> notebook 02",
  );
  assert.deepEqual(found.map((f) => [f.value, f.approximate]), [["151936", false], ["77", true], ["1.224", false]]);
});

test("a number quoted in a markdown cell that no output shows fails the check, naming the cell (the course's own slips)", () => {
  const notebook = {
    cells: [
      code("c21", "validation loss 1.224 (step 0) → 0.204 (step 20) → 0.049 (step 40)\n"),
      md("c22", "The validation loss starts at 1.224; by step 20 both losses are below 0.2."),
      code("c21b", "one step: 45/51, two steps: 48/69\n"),
      md("c23", "one-step problems: 45 of 51 right, two-step problems 47 of 69."),
      code("c25", "<table><td>1,880</td></table>"),
      md("c26", "All 1,880 training problems, about 0.05 after step 40."),
    ],
  };
  const problems = proseNumberProblems(notebook);
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(problems[0]!, /markdown cell 1 \(id c22\): 0\.2 is in no output of the notebook/);
  assert.match(problems[1]!, /markdown cell 3 \(id c23\): 47 is in no output/);
});

test("outputs that show the checkout's absolute path are named, cell by cell; relative paths pass", () => {
  const code = (id: string, text: string) => ({ cell_type: "code", id, source: "", outputs: [{ output_type: "stream", text }] });
  const notebook = {
    cells: [
      code("a", "run record runs/run-20261207-x\n"),
      code("b", "completed: 50 steps; run record /home/me/openr1-ts/runs/run-20261207-x\n"),
      { cell_type: "markdown", id: "m", source: "/home/me/openr1-ts in prose is not an output" },
    ],
  };
  const problems = absolutePathProblems(notebook, "/home/me/openr1-ts");
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0]!, /code cell 1 \(id b\): its output shows the path \/home\/me\/openr1-ts/);
});
