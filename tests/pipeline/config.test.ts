import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipelineConfigSchema, profiles, resolveConfig } from "../../src/pipeline/config.js";

const tmp = mkdtempSync(join(tmpdir(), "openr1-config-"));
function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

test("both profiles satisfy the schema", () => {
  for (const p of Object.values(profiles)) assert.ok(pipelineConfigSchema.safeParse(p).success, p.profile);
});

test("the full profile pins the Hub revisions of the model and the dataset", () => {
  assert.match(profiles.full.model.revision ?? "", /^[0-9a-f]{40}$/);
  assert.match(profiles.full.data.revision, /^[0-9a-f]{40}$/);
});

test("a config file merges over its profile and overrides come last", () => {
  const f = file("ok.json", JSON.stringify({ profile: "full", train: { learningRate: 1e-4 } }));
  const c = resolveConfig({ file: f, overrides: ["train.batchSize=4", "model.source=./my-model"] });
  assert.equal(c.profile, "full");
  assert.equal(c.train.learningRate, 1e-4);
  assert.equal(c.train.batchSize, 4);
  assert.equal(c.model.source, "./my-model");
  assert.equal(c.lora.r, profiles.full.lora.r);
});

test("unknown keys are errors that name the key", () => {
  const f = file("unknown.json", JSON.stringify({ train: { learningrate: 1e-4 } }));
  assert.throws(() => resolveConfig({ file: f }), /unknown setting "train\.learningrate"/);
  assert.throws(() => resolveConfig({ overrides: ["train.lr=1"] }), /Unknown setting "train\.lr" in override "train\.lr=1"/);
});

test("invalid values are errors that name the field", () => {
  assert.throws(() => resolveConfig({ overrides: ["train.batchSize=0"] }), /train\.batchSize/);
  assert.throws(() => resolveConfig({ overrides: ["lora.targetModules=[\"qkv\"]"] }), /lora\.targetModules/);
  assert.throws(() => resolveConfig({ overrides: ["train.batchSize"] }), /key\.path=value/);
});

test("a missing or malformed config file is a clear error", () => {
  assert.throws(() => resolveConfig({ file: join(tmp, "nope.json") }), /Cannot read config file .*nope\.json: ENOENT/);
  assert.throws(() => resolveConfig({ file: file("bad.json", "{ train: ") }), /bad\.json is not valid JSON/);
  assert.throws(() => resolveConfig({ profile: "huge" as never }), /Unknown profile "huge"/);
});

test("an override that goes below a value names the key instead of a TypeError", () => {
  assert.throws(() => resolveConfig({ overrides: ["train.maxSteps.x=1"] }), /Unknown setting "train\.maxSteps\.x"/);
});

test("a run name is a folder name, never a path: ., .., a/b and absolute paths are refused naming runName", () => {
  for (const name of [".", "..", "a/b", "/tmp/x", "../up", ""]) {
    assert.throws(() => resolveConfig({ overrides: [`runName=${JSON.stringify(name)}`] }), /runName/, name);
  }
  assert.equal(resolveConfig({ overrides: ['runName="exp-1.b_2"'] }).runName, "exp-1.b_2");
});
