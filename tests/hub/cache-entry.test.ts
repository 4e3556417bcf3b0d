import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, truncateSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../../src/backend.js";
import { EMBEDDED_SAMPLE, loadMathExamples, OPENR1_REPO, OPENR1_REVISION } from "../../src/data/index.js";
import { cachedFilePath } from "../../src/hub/index.js";
import { loadQwen2Model } from "../../src/model/load.js";
import { GOLDEN_DIR } from "../model/golden.js";
import { FakeHub } from "./hub-server.js";

await selectBackend();

/** Runs `body` against a loopback Hub serving `files`, with an empty cache; both gone afterwards. */
async function withHub(files: ConstructorParameters<typeof FakeHub>[0], body: (endpoint: string, cacheDir: string) => Promise<void>): Promise<void> {
  const hub = new FakeHub(files);
  const endpoint = await hub.start();
  const cacheDir = await mkdtemp(join(tmpdir(), "openr1-cache-entry-"));
  try {
    await body(endpoint, cacheDir);
  } finally {
    await hub.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/** The command the error names to clear the entry (`rm -r '<path>'`), run as given. */
function followAdvice(message: string): void {
  const rm = /\(rm -r '([^']+)'\)/.exec(message);
  assert.ok(rm, message);
  execFileSync("rm", ["-r", rm[1]!]);
}

test("a cached dataset shard that fails to load says it is a cached download and how to clear it; clearing it works", () => {
  const shard = "data/train-00000-of-00001.parquet";
  return withHub(
    {
      [`/api/datasets/${OPENR1_REPO}/tree/${OPENR1_REVISION}/data`]: { body: Buffer.from(JSON.stringify([{ type: "file", path: shard }])) },
      [`/datasets/${OPENR1_REPO}/resolve/${OPENR1_REVISION}/${shard}`]: { body: readFileSync(EMBEDDED_SAMPLE), lfs: true },
    },
    async (endpoint, cacheDir) => {
      const source = { kind: "hub" as const, endpoint, cacheDir, progress: false };
      assert.equal((await loadMathExamples(source, { limit: 5 })).examples.length, 5);
      const cached = cachedFilePath(cacheDir, "dataset", OPENR1_REPO, OPENR1_REVISION, shard);
      truncateSync(cached, 1000);
      let message = "";
      await assert.rejects(loadMathExamples({ ...source, offline: true }, { limit: 5 }), (e: Error) => {
        message = e.message;
        assert.match(message, new RegExp(`not a readable parquet file .* — ${cached} is a cached Hub download: delete it \\(rm -r '${cached}'\\) and run again to download it afresh`));
        return true;
      });
      followAdvice(message);
      assert.equal((await loadMathExamples(source, { limit: 5 })).examples.length, 5);
    },
  );
});

test("a cached model whose weights fail to load names its cache folder and how to clear it; clearing it works", () => {
  const model = (f: string) => ({ body: readFileSync(join(GOLDEN_DIR, "tiny-tied", "model", f)) });
  return withHub(
    Object.fromEntries(["config.json", "generation_config.json", "model.safetensors"].map((f) => [`/acme/tiny/resolve/main/${f}`, model(f)])),
    async (endpoint, cacheDir) => {
      const options = { endpoint, cacheDir, progress: false };
      (await loadQwen2Model("acme/tiny", options)).dispose();
      const weights = cachedFilePath(cacheDir, "model", "acme/tiny", "main", "model.safetensors");
      truncateSync(weights, 100);
      let message = "";
      await assert.rejects(loadQwen2Model("acme/tiny", { ...options, offline: true }), (e: Error) => {
        message = e.message;
        assert.match(message, new RegExp(`${join(cacheDir, "models--acme--tiny", "snapshots", "main")} is a cached Hub download: delete it`));
        return true;
      });
      followAdvice(message);
      (await loadQwen2Model("acme/tiny", options)).dispose();
    },
  );
});
