import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  accuracyReward,
  correctnessReward,
  countEquations,
  formatReward,
  reasoningStepsReward,
  stepByStepReward,
  tagCountReward,
} from "../../src/eval/index.js";

interface RewardCase {
  reward: "accuracy" | "format" | "reasoning_steps" | "tag_count";
  content: string;
  solution: string | null;
  expected: number;
  source: string;
}

const cases: RewardCase[] = readFileSync(new URL("../fixtures/eval/openr1_reward_cases.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as RewardCase);

test("open-r1 reward cases give exactly the expected reward", () => {
  assert.ok(cases.length >= 21);
  for (const c of cases) {
    const got =
      c.reward === "accuracy"
        ? accuracyReward(c.content, c.solution!)
        : c.reward === "format"
          ? formatReward(c.content)
          : c.reward === "tag_count"
            ? tagCountReward(c.content)
            : reasoningStepsReward(c.content);
    assert.equal(got, c.expected, `${c.reward} ${c.source}: ${JSON.stringify(c.content)}`);
  }
});

test("correctness: 1 / 0, and unscorable (null) when the gold cannot be parsed", () => {
  assert.deepEqual(
    [correctnessReward("So the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}").reward, correctnessReward("$\\boxed{0.5}$", "\\frac12").status],
    [1, "correct"],
  );
  assert.equal(correctnessReward("The answer is $\\boxed{3}$", "6").reward, 0);
  const u = correctnessReward("The answer is $\\boxed{3}$", "");
  assert.equal(u.status, "unscorable");
  assert.equal(u.reward, null);
});

test("step-by-step = mean of reasoning_steps and equation presence", () => {
  const worked = "Step 1: 2x + 3 = 7\nStep 2: 2x = 4\nStep 3: x = 2";
  assert.equal(countEquations(worked), 3);
  assert.equal(stepByStepReward(worked), 1);
  assert.equal(stepByStepReward("Step 1: think\nStep 2: think more\nStep 3: done"), 0.5);
  assert.equal(stepByStepReward("We have a = 5 so b = 3."), 0.5 * (2 / 3));
  assert.equal(stepByStepReward("no structure at all"), 0);
});

test("the accuracy reward does not repair malformed operators in a completion, as open-r1 (the oracle's verdicts)", () => {
  const cases = readFileSync(new URL("../fixtures/eval/accuracy-malformed.jsonl", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { gold: string; pred: string; expected: number | null });
  assert.ok(cases.some((c) => c.expected === 0 && /\\frac12/.test(c.pred)));
  for (const c of cases) assert.equal(accuracyReward(c.pred, c.gold), c.expected, `${c.pred} against ${c.gold}`);
  // The same answers still count for correctness, which follows Math-Verify's harness (it repairs them).
  assert.equal(correctnessReward("The answer is $\\boxed{\\frac12}$", "\\frac{1}{2}").status, "correct");
});
