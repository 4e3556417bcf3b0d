import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readJsonFile } from "../../src/files/read.js";

test("readJsonFile: the value, or an error naming the file and what it should hold", () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-read-"));
  try {
    writeFileSync(join(dir, "ok.json"), '{"a": [1, 2]}');
    writeFileSync(join(dir, "bad.json"), "{a: ");
    assert.deepEqual(readJsonFile(join(dir, "ok.json"), "a test file"), { a: [1, 2] });
    assert.throws(() => readJsonFile(join(dir, "none.json"), "the run's state"), new RegExp(`^Error: ${join(dir, "none.json")}: not found \\(the run's state\\)$`));
    assert.throws(() => readJsonFile(join(dir, "bad.json"), "x"), new RegExp(`${join(dir, "bad.json")}: not valid JSON \\(`));
    assert.throws(() => readJsonFile(dir, "x"), new RegExp(`${dir}: cannot read it \\(EISDIR`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
