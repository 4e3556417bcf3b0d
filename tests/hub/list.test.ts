import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hubListFiles, HubDownloadError } from "../../src/hub/index.js";
import { FakeHub } from "./hub-server.js";

const REPO = "open-r1/OpenR1-Math-220k";
const tree = (paths: string[], type = "file") => Buffer.from(JSON.stringify(paths.map((path) => ({ type, path, size: 1 }))));

describe("hubListFiles (tree API) against a loopback Hub", () => {
  let hub: FakeHub;
  let endpoint: string;
  before(async () => {
    hub = new FakeHub({});
    endpoint = await hub.start();
    hub.files[`/api/datasets/${REPO}/tree/rev1/extended`] = {
      body: tree(["extended/train-00001-of-00002.parquet", "extended/README.md"]),
      headers: { link: `<${endpoint}/api/datasets/${REPO}/tree/rev1/extended?cursor=2>; rel="next"` },
    };
    hub.files[`/api/datasets/${REPO}/tree/rev1/extended?cursor=2`] = { body: Buffer.concat([tree(["extended/train-00000-of-00002.parquet"])]) };
    hub.files[`/api/models/Qwen/Qwen2.5-0.5B/tree/main`] = { body: tree(["config.json", "model.safetensors"]) };
  });
  after(async () => {
    await hub.stop();
  });

  it("lists a dataset folder across pages, sorted, files only", async () => {
    const files = await hubListFiles({ repoId: REPO, repoType: "dataset", revision: "rev1", folder: "extended", endpoint });
    assert.deepEqual(files, ["extended/README.md", "extended/train-00000-of-00002.parquet", "extended/train-00001-of-00002.parquet"]);
  });

  it("lists a model repository's root", async () => {
    assert.deepEqual(await hubListFiles({ repoId: "Qwen/Qwen2.5-0.5B", folder: "", endpoint }), ["config.json", "model.safetensors"]);
  });

  it("says what it could not list (404, offline)", async () => {
    await assert.rejects(hubListFiles({ repoId: REPO, repoType: "dataset", revision: "nope", folder: "data", endpoint }), (err: Error) => {
      assert.ok(err instanceof HubDownloadError);
      assert.match(err.message, /the file list of data in dataset open-r1\/OpenR1-Math-220k@nope.*HTTP 404/);
      return true;
    });
    await assert.rejects(hubListFiles({ repoId: REPO, repoType: "dataset", folder: "data", endpoint, offline: true }), /offline mode is on/);
  });

  it("refuses a web page in place of the file list, and a Hub that never answers", async () => {
    hub.mode = "html";
    await assert.rejects(hubListFiles({ repoId: REPO, repoType: "dataset", revision: "rev1", folder: "extended", endpoint }), /is not the Hub's file list.*check HF_ENDPOINT/);
    hub.mode = "silent";
    await assert.rejects(
      hubListFiles({ repoId: REPO, repoType: "dataset", revision: "rev1", folder: "extended", endpoint, etagTimeoutMs: 200 }),
      /no answer within 0\.2 s \(HF_HUB_ETAG_TIMEOUT\)/,
    );
    hub.mode = undefined;
  });
});
