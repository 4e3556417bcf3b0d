import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { groupAdvantages, nanMean, nanStd, weightedRewards, type ScaleRewards } from "../../src/rl/advantages.js";

// TRL 1.13's numbers (tests/fixtures/rl/make_trl_reference.py says how they were made).
const fixture = JSON.parse(readFileSync(new URL("../fixtures/rl/trl_grpo.json", import.meta.url), "utf8")) as {
  advantages: { rewards_per_func: (number | null)[][]; weights: number[]; num_generations: number; scale_rewards: ScaleRewards; rewards: (number | null)[]; advantages: number[]; frac_reward_zero_std: number }[];
};

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("weighted rewards and group-relative advantages match TRL's GRPOTrainer (group, batch, none)", () => {
  assert.equal(fixture.advantages.length, 3);
  for (const c of fixture.advantages) {
    const rewards = weightedRewards(c.rewards_per_func, c.weights);
    assert.deepEqual(rewards.map((r) => (Number.isNaN(r) ? null : r)), c.rewards);
    const a = groupAdvantages(rewards, c.num_generations, c.scale_rewards);
    assert.equal(a.advantages.length, c.advantages.length);
    a.advantages.forEach((x, i) => close(x, c.advantages[i]!));
    close(a.fracZeroStd, c.frac_reward_zero_std);
  }
});

test("a group whose rewards are all equal gets zero advantage; the others are centred on their own mean", () => {
  // Group 1: rewards 1, 0, 1, 0 → mean 0.5, std (Bessel) √(1/3) → ±0.5/(0.57735 + 1e-4). Group 2: all 1 → 0.
  const a = groupAdvantages([1, 0, 1, 0, 1, 1, 1, 1], 4, "group");
  const x = 0.5 / (Math.sqrt(1 / 3) + 1e-4);
  assert.deepEqual(a.advantages.map((v) => Number(v.toFixed(6))), [x, -x, x, -x, 0, 0, 0, 0].map((v) => Number(v.toFixed(6))));
  assert.equal(a.fracZeroStd, 0.5);
  // Without std scaling (Dr. GRPO): the plain differences from the group mean.
  assert.deepEqual(groupAdvantages([3, 1, 2, 2], 4, "none").advantages, [1, -1, 0, 0]);
  for (const g of [0, 1]) assert.ok(Math.abs(a.advantages.slice(4 * g, 4 * g + 4).reduce((s, v) => s + v, 0)) < 1e-12, "each group's advantages sum to 0");
});

test("a group of equal rewards gets exactly 0, not the last-bit difference between 0.2 and the mean of eight 0.2s", () => {
  const a = groupAdvantages([0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2], 8, "none");
  assert.deepEqual(a.advantages, new Array(8).fill(0));
  assert.deepEqual(groupAdvantages([0.2, NaN, 0.2, 0.2], 4, "group").advantages, [0, 0, 0, 0]);
});

test("an unscorable completion (every reward null) gets advantage 0 and is left out of its group's mean", () => {
  const r = weightedRewards([[null], [1], [0], [1]], [1]);
  assert.ok(Number.isNaN(r[0]!));
  const a = groupAdvantages(r, 4, "none");
  assert.equal(a.advantages[0], 0);
  close(a.advantages[1]!, 1 - 2 / 3);
  close(nanMean([NaN, 1, 2]), 1.5);
  close(nanStd([1, 2, 3, NaN]), 1);
  assert.ok(Number.isNaN(nanStd([1])));
});

test("bad shapes are refused by name", () => {
  assert.throws(() => groupAdvantages([1, 2, 3], 2, "group"), /3 rewards are not groups of 2/);
  assert.throws(() => weightedRewards([[1, 2]], [1]), /2 rewards for 1 weights/);
});
