import { test } from "node:test";
import assert from "node:assert/strict";
import { progressLayout } from "../../src/train/progress.js";

/** A bar line as cli-progress draws it, with the widest values the fields take. */
function render(columns: number, maxSteps: number): string {
  const { format, barsize } = progressLayout(columns, maxSteps);
  const values: Record<string, string> = { value: String(maxSteps), total: String(maxSteps), loss: "0.1234", eval: "0.1234", lr: "2.00e-3", tps: "12345", eta_formatted: "1h23m" };
  return format.replace("{bar}", "█".repeat(barsize)).replace(/\{(\w+)\}/g, (_, k: string) => values[k]!);
}

test("the training bar fits the terminal: the ETA is never cut, fields are dropped before it, the bar fills what is left", () => {
  for (const columns of [60, 80, 100, 120, 200]) {
    const line = render(columns, 120);
    assert.ok(line.length < columns, `${columns} columns: ${line.length} characters: ${line}`);
    assert.match(line, /1h23m$/, `${columns} columns keep the ETA`);
  }
  assert.match(render(80, 120), /eval 0\.1234/, "80 columns keep the validation loss");
  assert.match(render(120, 120), /lr 2\.00e-3 .*tok\/s/, "120 columns show everything");
  assert.match(render(80, 100_000), /100000\/100000/);
});
