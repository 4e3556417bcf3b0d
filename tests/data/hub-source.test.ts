import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EMBEDDED_SAMPLE, loadMathExamples, OPENR1_REPO, OPENR1_REVISION, openr1Files } from "../../src/data/index.js";
import { FakeHub } from "../hub/hub-server.js";

describe("OpenR1-Math-220k from a (loopback) Hub", () => {
  let hub: FakeHub;
  let endpoint: string;
  let cacheDir: string;
  const sample = readFileSync(EMBEDDED_SAMPLE);
  const shardUrl = (f: string) => `/datasets/${OPENR1_REPO}/resolve/${OPENR1_REVISION}/${f}`;

  before(async () => {
    const [first, second] = openr1Files("default");
    hub = new FakeHub({ [shardUrl(first)]: { body: sample, lfs: true }, [shardUrl(second)]: { body: sample, lfs: true } });
    endpoint = await hub.start();
    cacheDir = await mkdtemp(join(tmpdir(), "openr1-hub-data-"));
  });
  after(async () => {
    await hub.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("names the configs' shards as the Hub lays them out", () => {
    assert.deepEqual(openr1Files("default"), Array.from({ length: 10 }, (_, i) => `data/train-0000${i}-of-00010.parquet`));
    assert.equal(openr1Files("extended").length, 7);
    assert.deepEqual(openr1Files("all"), [...openr1Files("default"), ...openr1Files("extended")]);
  });

  it("downloads only the shards the limit reaches, then reads them from the cache offline", async () => {
    const source = { kind: "hub" as const, endpoint, cacheDir, progress: false };
    const ten = await loadMathExamples(source, { limit: 10 });
    assert.equal(ten.examples.length, 10);
    assert.deepEqual(hub.gets().map((g) => g.url), [`/cdn${shardUrl("data/train-00000-of-00010.parquet")}`]);
    const sixty = await loadMathExamples(source, { limit: 60, filters: { dedupe: false } });
    assert.equal(sixty.report.rowsRead, 60);
    assert.equal(hub.gets().length, 2, "shard 0 from the cache, shard 1 downloaded");
    const seen = hub.requests.length;
    const offline = await loadMathExamples({ ...source, offline: true }, { limit: 108, filters: { dedupe: false } });
    assert.equal(offline.report.rowsRead, 108);
    assert.equal(hub.requests.length, seen);
    await assert.rejects(loadMathExamples({ ...source, offline: true }, { limit: 109 }), /data\/train-00002-of-00010\.parquet .* is not in the cache .*HF_HUB_OFFLINE/s);
  });
});
