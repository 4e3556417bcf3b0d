import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { AddressInfo } from "node:net";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { baseModelReference, DEFAULT_MODEL_REPO, DEFAULT_MODEL_REVISION, loadQwen2Model, TINY_MATH_MODEL, TINY_MATH_MODEL_DIR } from "../../src/model/load.js";
import { DEFAULT_LORA_CONFIG, peftAdapterConfig } from "../../src/model/lora.js";
import { createRandomQwen2, ensureRandomQwen2, QWEN25_IM_END_ID } from "../../src/model/random.js";
import { SafetensorsFile } from "../../src/model/safetensors.js";
import { generateAsync } from "../../src/model/generate.js";
import { GOLDEN_DIR, maxDiffMasked, readGolden } from "./golden.js";

await selectBackend();

test("a model repository is downloaded from a Hub endpoint (local server) into the cache and loads", async () => {
  const served: string[] = [];
  const server = createServer(async (req, res) => {
    const m = /^\/acme\/tiny\/resolve\/abc123\/(.+)$/.exec(req.url ?? "");
    try {
      if (!m) throw new Error("no");
      const body = await readFile(join(GOLDEN_DIR, "tiny-tied", "model", decodeURIComponent(m[1])));
      served.push(m[1]);
      // The Hub's headers: the commit, and for files kept in git their blob sha1 as the ETag.
      const etag = createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex");
      res.writeHead(200, { "content-length": body.length, "x-repo-commit": "abc123", etag: `"${etag}"` });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404, { "x-error-code": "EntryNotFound" });
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const cacheDir = await mkdtemp(join(tmpdir(), "openr1-hub-"));
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const model = await loadQwen2Model("acme/tiny", { endpoint, cacheDir, revision: "abc123", progress: false });
    assert.ok(served.includes("model.safetensors") && served.includes("config.json"));
    const g = readGolden("tiny-tied");
    const logits = model.forward({ inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask });
    assert.ok(maxDiffMasked((await logits.array()) as number[][][], g.forward.logits, g.inputs.attention_mask) < 1e-4);
    logits.dispose();
    model.dispose();
    // Offline, the cached copy is used without a request.
    served.length = 0;
    (await loadQwen2Model("acme/tiny", { endpoint, cacheDir, revision: "abc123", offline: true })).dispose();
    assert.equal(served.length, 0);
    await assert.rejects(loadQwen2Model("acme/other", { endpoint, cacheDir, offline: true }), /offline/);
  } finally {
    server.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
});

test("createRandomQwen2 writes a loadable Qwen2 folder with Qwen2.5's token ids, deterministically", async () => {
  const dir = await mkdtemp(join(tmpdir(), "openr1-rand-"));
  try {
    const opts = { seed: 1, hidden: 32, layers: 1, heads: 4, kvHeads: 2, intermediate: 64, vocab: 151936 };
    await createRandomQwen2(join(dir, "a"), opts);
    await createRandomQwen2(join(dir, "b"), opts);
    assert.deepEqual(await readFile(join(dir, "a", "model.safetensors")), await readFile(join(dir, "b", "model.safetensors")));
    const f = await SafetensorsFile.open(join(dir, "a", "model.safetensors"));
    assert.equal(f.tensors.get("model.embed_tokens.weight")!.dtype, "BF16");
    assert.ok(!f.tensors.has("lm_head.weight"), "tied embeddings store no lm_head");
    await f.close();
    const gen = JSON.parse(await readFile(join(dir, "a", "generation_config.json"), "utf8"));
    assert.deepEqual(gen.eos_token_id, [151645, 151643]);
    assert.equal(gen.pad_token_id, 151643);
    const model = await loadQwen2Model(join(dir, "a"));
    assert.equal(model.config.eosTokenId, QWEN25_IM_END_ID);
    const base = tf.memory().numTensors;
    const out = await generateAsync(model, { inputIds: [[151644, 872, 198]] }, { maxNewTokens: 3 });
    assert.equal(out.newTokens[0].length, 3);
    assert.equal(tf.memory().numTensors, base);
    model.dispose();
    assert.equal(await ensureRandomQwen2(opts, dir), await ensureRandomQwen2(opts, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("createRandomQwen2 replaces only a folder it wrote itself: a user's folder, or the parent of one, is refused and kept", async () => {
  const dir = await mkdtemp(join(tmpdir(), "openr1-rand-"));
  try {
    const opts = { seed: 1, hidden: 32, layers: 1, heads: 4, kvHeads: 2, intermediate: 64, vocab: 1000 };
    await writeFile(join(dir, "notes.txt"), "mine");
    await assert.rejects(createRandomQwen2(dir, opts), /exists and was not written by createRandomQwen2/);
    assert.equal(await readFile(join(dir, "notes.txt"), "utf8"), "mine");
    await createRandomQwen2(join(dir, "m"), opts);
    await createRandomQwen2(join(dir, "m"), { ...opts, seed: 2 }); // its own output: replaced
    assert.ok((await readdir(join(dir, "m"))).includes("model.safetensors"));
    await assert.rejects(createRandomQwen2(join(dir, "m", ".."), opts), /not written by createRandomQwen2/);
    assert.equal(await readFile(join(dir, "notes.txt"), "utf8"), "mine");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an adapter names its base as peft loads it: a local folder by absolute path, a Hub model by id and revision", () => {
  assert.deepEqual(baseModelReference(TINY_MATH_MODEL, TINY_MATH_MODEL_DIR), { nameOrPath: TINY_MATH_MODEL_DIR, revision: null });
  assert.ok(isAbsolute(TINY_MATH_MODEL_DIR));
  const relative = join("tests", "fixtures", "golden", "tiny-tied", "model");
  assert.deepEqual(baseModelReference(relative, relative), { nameOrPath: resolve(relative), revision: null }, "a relative folder would depend on the current directory");
  assert.deepEqual(baseModelReference("random-small", "/cache/random-qwen2"), { nameOrPath: "/cache/random-qwen2", revision: null });
  assert.deepEqual(baseModelReference(DEFAULT_MODEL_REPO, "/hub/snapshots/x"), { nameOrPath: DEFAULT_MODEL_REPO, revision: DEFAULT_MODEL_REVISION });
  assert.deepEqual(baseModelReference("acme/tiny", "/hub/snapshots/abc", "abc"), { nameOrPath: "acme/tiny", revision: "abc" });
  assert.deepEqual(baseModelReference("acme/tiny", "/hub/snapshots/main"), { nameOrPath: "acme/tiny", revision: "main" });
  const config = peftAdapterConfig(DEFAULT_LORA_CONFIG, DEFAULT_MODEL_REPO, DEFAULT_MODEL_REVISION);
  assert.equal(config.base_model_name_or_path, DEFAULT_MODEL_REPO);
  assert.equal(config.revision, DEFAULT_MODEL_REVISION);
});
