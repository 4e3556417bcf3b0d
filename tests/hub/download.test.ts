import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { cachedFilePath, defaultHubCacheDir, hubDownload, hubDownloadFiles, hubFileUrl, HubDownloadError, resolveHubSettings } from "../../src/hub/index.js";
import { FakeHub } from "./hub-server.js";

const REPO = "open-r1/OpenR1-Math-220k";
const REV = "e4e141ec9dea9f8326f4d347be56105859b2bd68";
const SHARD = "data/train-00000-of-00010.parquet";
const payload = randomBytes(300_000);
const small = Buffer.from("{\"model_type\": \"qwen2\"}\n");

describe("Hub URL scheme and settings", () => {
  it("uses /datasets/ for datasets and no prefix for models", () => {
    assert.equal(
      hubFileUrl("https://huggingface.co", "dataset", REPO, "main", SHARD),
      "https://huggingface.co/datasets/open-r1/OpenR1-Math-220k/resolve/main/data/train-00000-of-00010.parquet",
    );
    assert.equal(
      hubFileUrl("https://huggingface.co", "model", "Qwen/Qwen2.5-0.5B", "main", "config.json"),
      "https://huggingface.co/Qwen/Qwen2.5-0.5B/resolve/main/config.json",
    );
  });

  it("honours HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE and HF_HOME", () => {
    const s = resolveHubSettings({}, { HF_ENDPOINT: "http://mirror/", HF_TOKEN: "hf_x", HF_HUB_OFFLINE: "1", HF_HOME: "/h" });
    assert.deepEqual(s, { endpoint: "http://mirror", token: "hf_x", offline: true, cacheDir: "/h/hub", etagTimeoutMs: 10_000, downloadTimeoutMs: 10_000, allowUnverified: false });
    assert.equal(resolveHubSettings({}, { OPENR1_HUB_ALLOW_UNVERIFIED: "1" }).allowUnverified, true);
    assert.equal(defaultHubCacheDir({ HF_HUB_CACHE: "/c", HF_HOME: "/h" }), "/c");
    assert.equal(resolveHubSettings({ offline: false }, { HF_HUB_OFFLINE: "1" }).offline, false);
  });

  it("takes time limits from HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT (seconds) and names a bad one", () => {
    const s = resolveHubSettings({}, { HF_HUB_ETAG_TIMEOUT: "2.5", HF_HUB_DOWNLOAD_TIMEOUT: "60" });
    assert.equal(s.etagTimeoutMs, 2500);
    assert.equal(s.downloadTimeoutMs, 60_000);
    assert.throws(() => resolveHubSettings({}, { HF_HUB_DOWNLOAD_TIMEOUT: "soon" }), /HF_HUB_DOWNLOAD_TIMEOUT=soon is not a positive number of seconds/);
  });

  it("lays the cache out per repository and revision", () => {
    assert.equal(
      cachedFilePath("/c", "dataset", REPO, REV, SHARD),
      `/c/datasets--open-r1--OpenR1-Math-220k/snapshots/${REV}/data/train-00000-of-00010.parquet`,
    );
  });
});

describe("hubDownload against a loopback Hub", () => {
  let hub: FakeHub;
  let endpoint: string;
  let cacheDir: string;
  const sha = createHash("sha256").update(payload).digest("hex");

  before(async () => {
    hub = new FakeHub({});
    endpoint = await hub.start();
  });
  after(async () => {
    await hub.stop();
  });
  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), "openr1-hub-"));
    hub.requests.length = 0;
    hub.status = undefined;
    hub.mode = undefined;
    hub.cdnHtml = false;
    hub.requiredToken = undefined;
    for (const key of Object.keys(hub.files)) delete hub.files[key];
    hub.files[`/datasets/${REPO}/resolve/${REV}/${SHARD}`] = { body: payload, lfs: true };
    hub.files[`/Qwen/Qwen2.5-0.5B/resolve/main/config.json`] = { body: small };
  });

  const shard = () => ({ repoId: REPO, repoType: "dataset" as const, revision: REV, filename: SHARD, endpoint, cacheDir, progress: false, retryDelayMs: 0 });

  it("downloads an LFS file through the CDN redirect, checks it, and serves the second call from the cache", async () => {
    const path = await hubDownload(shard());
    assert.equal(path, cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD));
    assert.equal(createHash("sha256").update(await readFile(path)).digest("hex"), sha);
    const seen = hub.requests.length;
    assert.equal(await hubDownload(shard()), path);
    assert.equal(hub.requests.length, seen, "a cache hit makes no request");
    await assert.rejects(stat(`${path}.incomplete`));
  });

  it("downloads a small (non-LFS) model file to the model cache", async () => {
    const path = await hubDownload({ repoId: "Qwen/Qwen2.5-0.5B", filename: "config.json", endpoint, cacheDir, progress: false });
    assert.deepEqual(await readFile(path), small);
    assert.match(path, /models--Qwen--Qwen2\.5-0\.5B\/snapshots\/main\/config\.json$/);
  });

  it("resumes with a Range request after the connection is cut", async () => {
    hub.files[`/datasets/${REPO}/resolve/${REV}/${SHARD}`] = { body: payload, lfs: true, cutAfter: 100_000, cutTimes: 2 };
    const partial = `${cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD)}.incomplete`;
    const onDisk: number[] = [];
    hub.onRequest = (r) => {
      if (r.method === "GET") onDisk.push(existsSync(partial) ? statSync(partial).size : 0);
    };
    const path = await hubDownload(shard());
    hub.onRequest = undefined;
    assert.deepEqual(await readFile(path), payload);
    const gets = hub.gets();
    assert.equal(gets.length, 3);
    assert.equal(gets[0].range, undefined);
    // Each retry asks for the rest from exactly what reached the disk.
    assert.deepEqual(gets.slice(1).map((g) => g.range), onDisk.slice(1).map((n) => `bytes=${n}-`));
    assert.ok(onDisk[1] > 0 && onDisk[2] > onDisk[1]);
  });

  it("resumes a partial file left by an earlier run", async () => {
    const dest = cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD);
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(`${dest}.incomplete`, payload.subarray(0, 123_456));
    await hubDownload(shard());
    assert.deepEqual(await readFile(dest), payload);
    assert.deepEqual(hub.gets().map((g) => g.range), ["bytes=123456-"]);
  });

  it("gives up after the retries, keeping the partial file for the next run", async () => {
    hub.files[`/datasets/${REPO}/resolve/${REV}/${SHARD}`] = { body: payload, lfs: true, cutAfter: 1000, cutTimes: 10 };
    await assert.rejects(hubDownload({ ...shard(), retries: 1 }), (err: Error) => {
      assert.ok(err instanceof HubDownloadError);
      assert.match(err.message, /failed after 2 attempts.*run again to resume/s);
      return true;
    });
    const partial = `${cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD)}.incomplete`;
    assert.equal((await stat(partial)).size, 2000);
  });

  it("rejects and removes a download whose sha256 does not match the announced one", async () => {
    hub.files[`/datasets/${REPO}/resolve/${REV}/${SHARD}`] = { body: payload, lfs: true, announcedSha256: "0".repeat(64) };
    await assert.rejects(hubDownload(shard()), /Checksum mismatch for data\/train-00000-of-00010\.parquet.*sha256/);
    const dest = cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD);
    await assert.rejects(stat(dest));
    await assert.rejects(stat(`${dest}.incomplete`));
  });

  it("rejects a file kept in git whose git blob sha1 does not match the Hub's ETag", async () => {
    hub.files[`/Qwen/Qwen2.5-0.5B/resolve/main/config.json`] = { body: small, announcedSha256: "1".repeat(64) };
    await assert.rejects(hubDownload({ repoId: "Qwen/Qwen2.5-0.5B", filename: "config.json", endpoint, cacheDir, progress: false }), /Checksum mismatch for config\.json.*git-sha1/);
    await assert.rejects(stat(cachedFilePath(cacheDir, "model", "Qwen/Qwen2.5-0.5B", "main", "config.json")));
  });

  it("never caches a web page served with HTTP 200 in place of a file (wrong HF_ENDPOINT, portal, CDN error page)", async () => {
    const config = { repoId: "Qwen/Qwen2.5-0.5B", filename: "config.json", endpoint, cacheDir, progress: false };
    const dest = cachedFilePath(cacheDir, "model", "Qwen/Qwen2.5-0.5B", "main", "config.json");
    hub.mode = "html";
    for (const req of [config, shard()]) {
      await assert.rejects(hubDownload(req), (err: Error) => {
        assert.ok(err instanceof HubDownloadError);
        assert.match(err.message, /does not answer like a Hugging Face Hub \(it answers with an HTML page\); nothing was cached.*HF_ENDPOINT/);
        return true;
      });
    }
    await assert.rejects(stat(dest));
    hub.mode = undefined;
    hub.cdnHtml = true;
    await assert.rejects(hubDownload(shard()), /cdn\/datasets.* does not answer like a Hugging Face Hub/);
    await assert.rejects(stat(cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD)));
    await assert.rejects(stat(`${cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD)}.incomplete`));
    hub.cdnHtml = false;
    assert.deepEqual(await readFile(await hubDownload(config)), small, "the real file once the Hub answers");
  });

  it("refuses a server without the Hub's X-Repo-Commit and ETag headers", async () => {
    const plain = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const other = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    try {
      await assert.rejects(hubDownload({ ...shard(), endpoint: other }), /does not answer like a Hugging Face Hub \(no X-Repo-Commit header\)/);
    } finally {
      plain.closeAllConnections();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it("gives up on a Hub that never answers after HF_HUB_ETAG_TIMEOUT, naming the limit", async () => {
    hub.mode = "silent";
    const began = Date.now();
    await assert.rejects(hubDownload({ ...shard(), etagTimeoutMs: 300 }), /Cannot reach the Hub for data\/train-00000-of-00010\.parquet .*no answer within 0\.3 s \(HF_HUB_ETAG_TIMEOUT\)/);
    assert.ok(Date.now() - began < 5000);
  });

  it("retries a download whose server stops sending, says so, and resumes from what arrived", async () => {
    hub.files[`/datasets/${REPO}/resolve/${REV}/${SHARD}`] = { body: payload, lfs: true, stallAfter: 70_000 };
    const lines: string[] = [];
    const path = await hubDownload({ ...shard(), downloadTimeoutMs: 300, log: (line) => lines.push(line) });
    assert.deepEqual(await readFile(path), payload);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^Retrying data\/train-00000-of-00010\.parquet from dataset open-r1\/OpenR1-Math-220k@e4e141ec\S* in 0 s \(attempt 2 of 6\): the server sent nothing for 0\.3 s \(HF_HUB_DOWNLOAD_TIMEOUT\)$/);
    const ranges = hub.gets().map((g) => g.range);
    assert.equal(ranges[0], undefined);
    assert.match(ranges[1] ?? "", /^bytes=\d+-$/);
  });

  it("a stalled server costs a bounded time: each attempt ends after HF_HUB_DOWNLOAD_TIMEOUT", async () => {
    hub.mode = undefined;
    hub.files[`/datasets/${REPO}/resolve/${REV}/${SHARD}`] = { body: payload, lfs: true };
    hub.onRequest = (r) => {
      if (r.method === "GET") hub.mode = "silent";
    };
    const began = Date.now();
    const lines: string[] = [];
    await assert.rejects(hubDownload({ ...shard(), downloadTimeoutMs: 200, retries: 2, log: (line) => lines.push(line) }), /failed after 3 attempts: the server sent nothing for 0\.2 s/);
    hub.onRequest = undefined;
    assert.equal(lines.length, 2);
    assert.ok(Date.now() - began < 5000);
  });

  it("offline: returns cached files and names the missing file and HF_HUB_OFFLINE otherwise", async () => {
    await assert.rejects(hubDownload({ ...shard(), offline: true }), (err: Error) => {
      assert.match(err.message, /data\/train-00000-of-00010\.parquet from dataset open-r1\/OpenR1-Math-220k@e4e141ec.* is not in the cache/);
      assert.match(err.message, /HF_HUB_OFFLINE/);
      return true;
    });
    assert.equal(hub.requests.length, 0);
    const path = await hubDownload(shard());
    const seen = hub.requests.length;
    assert.equal(await hubDownload({ ...shard(), offline: true }), path);
    assert.equal(hub.requests.length, seen);
  });

  it("sends HF_TOKEN to the Hub but not to the CDN", async () => {
    hub.requiredToken = "hf_secret";
    await hubDownload({ ...shard(), token: "hf_secret" });
    const head = hub.requests.find((r) => r.method === "HEAD");
    assert.equal(head?.authorization, "Bearer hf_secret");
    assert.equal(hub.gets()[0].authorization, undefined);
  });

  it("explains 401 (token) and 404 (missing file) with the file and the URL", async () => {
    hub.requiredToken = "hf_secret";
    await assert.rejects(hubDownload(shard()), (err: Error) => {
      assert.ok(err instanceof HubDownloadError);
      assert.match(err.message, /data\/train-00000-of-00010\.parquet.*HTTP 401.*set HF_TOKEN/);
      return true;
    });
    await assert.rejects(hubDownload({ ...shard(), token: "wrong" }), /HTTP 401.*token .* was refused/);
    hub.requiredToken = undefined;
    await assert.rejects(hubDownload({ ...shard(), filename: "data/nope.parquet" }), (err: Error) => {
      assert.match(err.message, /data\/nope\.parquet.*HTTP 404 — the file does not exist at this revision/);
      assert.match(err.message, new RegExp(`${endpoint}/datasets/${REPO}/resolve/${REV}/data/nope\\.parquet`));
      return true;
    });
  });

  it("names the endpoint and the network error when the Hub cannot be reached", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(
      hubDownload({ ...shard(), endpoint: `http://127.0.0.1:${port}` }),
      new RegExp(`Cannot reach the Hub for data/train-00000-of-00010\\.parquet .*127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*HF_HUB_OFFLINE`),
    );
  });

  it("concurrent downloads of one file take turns on a lock: one GET, both get the file", async () => {
    const [a, b] = await Promise.all([hubDownload(shard()), hubDownload(shard())]);
    assert.equal(a, b);
    assert.deepEqual(await readFile(a), payload);
    assert.equal(hub.gets().length, 1);
    await assert.rejects(stat(`${a}.lock`));
  });

  it("takes over a lock left by a process that died", async () => {
    const dest = cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD);
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(`${dest}.lock`, String(spawnSync("true").pid));
    assert.equal(await hubDownload(shard()), dest);
  });

  it("downloads several files in order", async () => {
    const other = "data/train-00001-of-00010.parquet";
    hub.files[`/datasets/${REPO}/resolve/${REV}/${other}`] = { body: small, lfs: true };
    const [a, b] = await hubDownloadFiles({ repoId: REPO, repoType: "dataset", revision: REV, endpoint, cacheDir, progress: false, retryDelayMs: 0 }, [SHARD, other]);
    assert.deepEqual(await readFile(a), payload);
    assert.deepEqual(await readFile(b), small);
    await rm(cacheDir, { recursive: true, force: true });
  });

  // A mirror answering like the Hub but with ETags that are not content hashes (an nginx-style "size-mtime").
  const unverifiable = {
    lfs: [`/datasets/${REPO}/resolve/${REV}/${SHARD}`, shard, () => cachedFilePath(cacheDir, "dataset", REPO, REV, SHARD)],
    git: [`/Qwen/Qwen2.5-0.5B/resolve/main/config.json`, () => ({ repoId: "Qwen/Qwen2.5-0.5B", filename: "config.json", endpoint, cacheDir, progress: false }), () => cachedFilePath(cacheDir, "model", "Qwen/Qwen2.5-0.5B", "main", "config.json")],
  } as const;

  it("refuses a file whose ETag is not a content hash (LFS or git), downloading and caching nothing; offline then finds nothing", async () => {
    for (const [key, request] of Object.values(unverifiable)) {
      hub.files[key] = { ...hub.files[key]!, etag: '"5f3c1a2b-49e20"' };
      await assert.rejects(hubDownload(request()), (err: Error) => {
        assert.ok(err instanceof HubDownloadError);
        assert.match(err.message, /Cannot verify .*announces the ETag "5f3c1a2b-49e20", which is neither a sha256 nor a git blob sha1.*nothing was downloaded\. If you trust this server, set OPENR1_HUB_ALLOW_UNVERIFIED=1/);
        return true;
      });
      await assert.rejects(hubDownload({ ...request(), offline: true }), /is not in the cache/);
    }
    assert.equal(hub.gets().length, 0);
    assert.deepEqual((await readdir(cacheDir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()), [], "no file in the cache");
  });

  it("when allowed, caches such a file only at the announced size and when a second download has the same sha256", async () => {
    for (const [key, request, cached] of Object.values(unverifiable)) {
      const dest = cached();
      // Garbage that changes from one request to the next is caught by the second download.
      hub.files[key] = { ...hub.files[key]!, etag: '"5f3c1a2b-49e20"', varying: true };
      await assert.rejects(hubDownload({ ...request(), allowUnverified: true }), /Two downloads of .* differ \(sha256 [0-9a-f]{64} and [0-9a-f]{64}\) .*nothing was cached/);
      assert.ok(!existsSync(dest) && !existsSync(`${dest}.incomplete`));
      // No size either: refused.
      hub.files[key] = { ...hub.files[key]!, varying: false, omitSize: true };
      await assert.rejects(hubDownload({ ...request(), allowUnverified: true }), /announces neither a content hash .* nor a size/);
      hub.files[key] = { ...hub.files[key]!, omitSize: false };
      hub.requests.length = 0;
      const path = await hubDownload({ ...request(), allowUnverified: true });
      assert.deepEqual(await readFile(path), hub.files[key]!.body);
      assert.equal(hub.gets().length, 2, "the file and a second download to compare");
    }
  });
});
