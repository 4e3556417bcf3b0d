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

  // The Hub lists two shards (not the expected ten): the loader must follow the Hub's listing.
  const listed = ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"];

  before(async () => {
    hub = new FakeHub({
      [`/api/datasets/${OPENR1_REPO}/tree/${OPENR1_REVISION}/data`]: { body: Buffer.from(JSON.stringify(listed.map((path) => ({ type: "file", path })))) },
      [shardUrl(listed[0])]: { body: sample, lfs: true },
      [shardUrl(listed[1])]: { body: sample, lfs: true },
    });
    endpoint = await hub.start();
    cacheDir = await mkdtemp(join(tmpdir(), "openr1-hub-data-"));
  });
  after(async () => {
    await hub.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("expects the configs' shards where the dataset card puts them", () => {
    assert.deepEqual(openr1Files("default"), Array.from({ length: 10 }, (_, i) => `data/train-0000${i}-of-00010.parquet`));
    assert.deepEqual(openr1Files("extended"), Array.from({ length: 7 }, (_, i) => `extended/train-0000${i}-of-00007.parquet`));
    assert.deepEqual(openr1Files("all"), [...openr1Files("default"), ...openr1Files("extended")]);
  });

  it("follows the Hub's listing, downloads only the shards the limit reaches, then reads them offline", async () => {
    const source = { kind: "hub" as const, endpoint, cacheDir, progress: false };
    const ten = await loadMathExamples(source, { limit: 10 });
    assert.equal(ten.examples.length, 10);
    const downloads = () => hub.gets().filter((g) => g.url.startsWith("/cdn/")).map((g) => g.url);
    assert.deepEqual(downloads(), [`/cdn${shardUrl(listed[0])}`]);
    const sixty = await loadMathExamples(source, { limit: 60, filters: { dedupe: false } });
    assert.equal(sixty.report.rowsRead, 60);
    assert.deepEqual(downloads(), [`/cdn${shardUrl(listed[0])}`, `/cdn${shardUrl(listed[1])}`], "shard 0 from the cache");
    const seen = hub.requests.length;
    const offline = await loadMathExamples({ ...source, offline: true }, { filters: { dedupe: false } });
    assert.equal(offline.report.rowsRead, 108, "both listed shards, from the cache and the remembered listing");
    assert.equal(hub.requests.length, seen);
  });

  it("offline without a remembered listing looks for the expected layout and names the missing shard", async () => {
    const emptyCache = await mkdtemp(join(tmpdir(), "openr1-hub-empty-"));
    await assert.rejects(
      loadMathExamples({ kind: "hub", cacheDir: emptyCache, offline: true }, { limit: 1 }),
      /data\/train-00000-of-00010\.parquet from dataset open-r1\/OpenR1-Math-220k@.* is not in the cache .*HF_HUB_OFFLINE/s,
    );
    await rm(emptyCache, { recursive: true, force: true });
  });
});
