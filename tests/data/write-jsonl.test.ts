import { test } from "node:test";
import assert from "node:assert/strict";
import { constants } from "node:buffer";
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { lineWriter, writeJsonl } from "../../src/data/write-jsonl.js";

test("a jsonl output larger than V8's longest string is streamed to disk, line by line (the full split crashed with 'Invalid string length')", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-jsonl-"));
  try {
    const path = join(dir, "train.jsonl");
    const text = "x".repeat(2 ** 20);
    const n = Math.ceil(constants.MAX_STRING_LENGTH / 2 ** 20) + 2;
    function* rows() {
      for (let i = 0; i < n; i++) yield { id: String(i), reasoning: text };
    }
    await writeJsonl(path, rows());
    assert.ok(statSync(path).size > constants.MAX_STRING_LENGTH, "the file is longer than any string can be");
    let lines = 0;
    let last = "";
    for await (const line of createInterface({ input: createReadStream(path) })) {
      lines++;
      last = line;
    }
    assert.equal(lines, n);
    assert.equal((JSON.parse(last) as { id: string }).id, String(n - 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a write that fails (no such folder) is an error naming the path, not a hang", async () => {
  await assert.rejects(writeJsonl(join(tmpdir(), "openr1-no-such-dir", "x", "train.jsonl"), [{ a: 1 }]), /ENOENT.*train\.jsonl/);
});

test("a write cut off before it closes leaves neither a half file under the real name nor its temporary file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-jsonl-"));
  try {
    const out = lineWriter(join(dir, "train.jsonl"));
    await out.write("{\"id\": 1}\n");
    out.destroy();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
