import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SPEC = join(ROOT, "environment", "jupyter", "kernels", "tslab");
const { findTslab } = createRequire(import.meta.url)(join(SPEC, "kernel.cjs")) as { findTslab(from: string): string | undefined };
const jupyter = existsSync("/usr/bin/python3") && spawnSync("/usr/bin/python3", ["-c", "import jupyter_client"]).status === 0;

test("the kernel spec names no checkout: Jupyter starts its launcher from the spec's own folder", () => {
  const spec = JSON.parse(readFileSync(join(SPEC, "kernel.json"), "utf8")) as { argv: string[]; language: string };
  assert.deepEqual(spec.argv, ["node", "{resource_dir}/kernel.cjs", "kernel", "--config-path", "{connection_file}"]);
  assert.equal(spec.language, "typescript");
});

test("the launcher starts the tslab of the checkout that holds the notebook, found from the kernel's folder", () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-kernel-"));
  try {
    const other = join(dir, "other-checkout");
    mkdirSync(join(other, "node_modules", "tslab", "dist"), { recursive: true });
    writeFileSync(join(other, "node_modules", "tslab", "dist", "main.js"), "");
    mkdirSync(join(other, "notebooks"));
    assert.equal(findTslab(join(ROOT, "notebooks")), join(ROOT, "node_modules", "tslab", "dist", "main.js"));
    assert.equal(findTslab(join(other, "notebooks")), join(other, "node_modules", "tslab", "dist", "main.js"));
    assert.equal(findTslab(dir), undefined, "outside any checkout: none (the launcher then uses its own checkout's)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("registering the kernel from two checkouts installs the same spec: neither repoints the other", { skip: !jupyter && "jupyter_client is not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-kernel-"));
  try {
    const data = join(dir, "jupyter-data");
    const other = join(dir, "other-checkout");
    cpSync(join(ROOT, "environment"), join(other, "environment"), { recursive: true });
    const installed = join(data, "kernels", "tslab");
    const register = (checkout: string) => {
      const r = spawnSync("bash", [join(checkout, "environment", "register-kernel.sh")], { encoding: "utf8", env: { ...process.env, JUPYTER_DATA_DIR: data } });
      assert.equal(r.status, 0, r.stderr);
      return [readFileSync(join(installed, "kernel.json"), "utf8"), readFileSync(join(installed, "kernel.cjs"), "utf8")];
    };
    const fromHere = register(ROOT);
    const fromOther = register(other);
    assert.deepEqual(fromOther, fromHere);
    assert.ok(!fromHere[0]!.includes(ROOT) && !fromHere[0]!.includes(other), "no checkout's path in kernel.json");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
