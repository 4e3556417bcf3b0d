import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { SETTINGS_DOC, settingsReference } from "../../tools/settings-doc.js";

test("docs/settings.md is what the settings' definitions say (run `npm run docs:settings` after changing one)", () => {
  assert.equal(readFileSync(SETTINGS_DOC, "utf8"), settingsReference());
});

test("the reference lists each setting once, with its flags, and the profiles' changes", () => {
  const doc = settingsReference();
  const rows = doc.split("\n").filter((l) => l.startsWith("| `"));
  const keys = rows.map((r) => r.split("|")[1]!.trim());
  assert.equal(new Set(keys).size, keys.length, "each setting once");
  const lr = rows.find((r) => r.startsWith("| `train.learningRate`"))!;
  assert.match(lr, /`train --lr` \| a number > 0 \| `0.002` \|  \| `0.0002` \| peak learning rate \|/);
  assert.match(rows.find((r) => r.startsWith("| `eval.maxNewTokens`"))!, /`evaluate --max-new-tokens` \| an integer ≥ 1 \| `512` \| `96` \| `2048` \|/);
  assert.match(rows.find((r) => r.startsWith("| `maxBatch`"))!, /`serve --max-batch` \| an integer ≥ 1 \| `8` \|/);
  assert.match(rows.find((r) => r.startsWith("| `rl.learningRate`"))!, /`grpo --lr` \| a number > 0 \| `0.001` \|  \| `0.00001` \| peak learning rate \|/);
  assert.match(doc, /`--profile r1-zero` starts from `tiny-math` and changes `rl.rewardFuncs` `accuracy,step_by_step`, `rl.rewardWeights` `1,0.2`/);
});
