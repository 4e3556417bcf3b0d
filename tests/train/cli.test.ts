import { test } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { registerTrainCommands } from "../../src/cli/train.js";
import { profiles } from "../../src/pipeline/config.js";

const program = () => {
  const p = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerTrainCommands(p);
  p.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }).action(() => {}));
  return p;
};

test("train: defaults come from the embedded-default profile", async () => {
  const p = program();
  await p.parseAsync(["node", "openr1", "train"]);
  const o = p.commands[0]!.opts();
  const d = profiles.default;
  assert.equal(o.lr, d.train.learningRate);
  assert.equal(o.batchSize, d.train.batchSize);
  assert.equal(o.gradAccum, d.train.gradientAccumulation);
  assert.equal(o.maxSeqLength, d.train.maxSeqLength);
  assert.equal(o.model, d.model.source);
  assert.deepEqual(o.loraTargets, d.lora.targetModules);
  assert.equal(o.resume, undefined);
});

test("train: options parse, --resume alone means the latest checkpoint", async () => {
  const p = program();
  await p.parseAsync(["node", "openr1", "train", "--lr", "3e-4", "--schedule", "linear", "--lora-targets", "q_proj,v_proj", "--resume", "--no-system-prompt"]);
  const o = p.commands[0]!.opts();
  assert.equal(o.lr, 3e-4);
  assert.equal(o.schedule, "linear");
  assert.deepEqual(o.loraTargets, ["q_proj", "v_proj"]);
  assert.equal(o.resume, true);
  assert.equal(o.systemPrompt, false);
});

test("train: bad values are rejected with the option named", async () => {
  for (const [args, message] of [
    [["--schedule", "step"], /'--schedule <value>' argument 'step' is invalid\. train\.schedule must be one of cosine, linear, constant/],
    [["--batch-size", "1.5"], /'--batch-size <n>' argument '1\.5' is invalid\. train\.batchSize must be an integer ≥ 1/],
    [["--grad-accum", "0"], /'--grad-accum <n>' argument '0' is invalid\. train\.gradientAccumulation must be an integer ≥ 1/],
    [["--lora-targets", "q_proj,lm_head"], /lora\.targetModules must be a non-empty list of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/],
  ] as const) {
    await assert.rejects(program().parseAsync(["node", "openr1", "train", ...args]), message);
  }
});
