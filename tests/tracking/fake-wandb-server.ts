// A fake W&B API on 127.0.0.1 speaking what @wandb/sdk 0.5.1 speaks (node_modules/@wandb/sdk/dist/internal):
// POST /graphql (Viewer, UpsertBucket, RunUploadUrls), POST /files/{entity}/{project}/{run}/file_stream, and
// PUT to the upload URLs it hands out. It records what it receives; it stops itself after `lifetimeMs`
// or `maxRequests`, so a test that forgets it cannot hang.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRun {
  entity: string;
  project: string;
  id: string;
  displayName?: string;
  /** Config with W&B's {value, desc} wrapping removed. */
  config: Record<string, unknown>;
  upserts: number;
  /** History rows by line offset. */
  history: Map<number, Record<string, unknown>>;
  summary: Record<string, unknown>;
  complete?: { exitcode: number | undefined };
  files: Map<string, string>;
}

export type FakeMode = "ok" | "error500" | "hang";

export interface FakeWandb {
  url: string;
  runs: Map<string, FakeRun>;
  requests: { method: string; path: string; operation?: string; status: number }[];
  mode: FakeMode;
  run(entity: string, project: string, id: string): FakeRun | undefined;
  close(): Promise<void>;
}

export async function startFakeWandb(options: { apiKey: string; entity?: string; lifetimeMs?: number; maxRequests?: number }): Promise<FakeWandb> {
  const { apiKey, entity: defaultEntity = "fake-entity", lifetimeMs = 30_000, maxRequests = 500 } = options;
  const expectedAuth = `Basic ${Buffer.from(`api:${apiKey}`).toString("base64")}`;
  const runs = new Map<string, FakeRun>();
  const hanging: ServerResponse[] = [];
  const runOf = (entity: string, project: string, id: string): FakeRun => {
    const key = `${entity}/${project}/${id}`;
    let run = runs.get(key);
    if (!run) runs.set(key, (run = { entity, project, id, config: {}, upserts: 0, history: new Map(), summary: {}, files: new Map() }));
    return run;
  };
  const fake: FakeWandb = {
    url: "",
    runs,
    requests: [],
    mode: "ok",
    run: (e, p, i) => runs.get(`${e}/${p}/${i}`),
    close: () =>
      new Promise((resolve) => {
        clearTimeout(lifetime);
        for (const res of hanging.splice(0)) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<number> {
    const path = (req.url ?? "").split("?")[0];
    if (fake.mode === "hang") {
      hanging.push(res);
      return 0;
    }
    if (fake.mode === "error500") {
      json(res, 500, { error: "internal server error" });
      return 500;
    }
    const upload = /^\/upload\/([^/]+)\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
    if (req.method === "PUT" && upload) {
      runOf(upload[1], upload[2], upload[3]).files.set(decodeURIComponent(upload[4]), body);
      res.writeHead(200).end();
      return 200;
    }
    if (req.headers.authorization !== expectedAuth) {
      json(res, 401, { errors: [{ message: "user is not logged in" }] });
      return 401;
    }
    if (req.method === "POST" && path === "/graphql") {
      const { query, variables: v } = JSON.parse(body) as { query: string; variables: Record<string, any> };
      if (/query Viewer\b/.test(query)) {
        json(res, 200, { data: { viewer: { id: "VXNlcjox", entity: defaultEntity, flags: "{}", teams: { edges: [] } } } });
      } else if (/mutation UpsertBucket\b/.test(query)) {
        const run = runOf(v.entity || defaultEntity, v.project || "uncategorized", v.name);
        run.upserts++;
        if (v.displayName) run.displayName = v.displayName;
        if (v.config) {
          for (const [k, val] of Object.entries(JSON.parse(v.config) as Record<string, any>)) {
            run.config[k] = val !== null && typeof val === "object" && "value" in val ? val.value : val;
          }
        }
        const bucket = { id: "UnVuOjE=", name: run.id, displayName: run.displayName ?? run.id, description: null, config: v.config ?? "{}", sweepName: null, project: { id: "UHJvamVjdDox", name: run.project, entity: { id: "RW50aXR5OjE=", name: run.entity } } };
        json(res, 200, { data: { upsertBucket: { bucket, inserted: run.upserts === 1 } } });
      } else if (/query RunUploadUrls\b/.test(query)) {
        const run = runOf(v.entity || defaultEntity, v.name, v.run);
        const edges = (v.files as string[]).map((name) => ({
          node: { name, url: `${fake.url}/upload/${run.entity}/${run.project}/${run.id}/${encodeURIComponent(name)}`, updatedAt: null },
        }));
        json(res, 200, { data: { model: { bucket: { id: "UnVuOjE=", files: { uploadHeaders: [], edges } } } } });
      } else {
        json(res, 400, { errors: [{ message: "unknown operation" }] });
        return 400;
      }
      return 200;
    }
    const stream = /^\/files\/([^/]+)\/([^/]+)\/([^/]+)\/file_stream$/.exec(path);
    if (req.method === "POST" && stream) {
      const run = runOf(stream[1], stream[2], stream[3]);
      const payload = JSON.parse(body) as { files?: Record<string, { offset: number; content: string[] }>; complete?: boolean; exitcode?: number };
      const history = payload.files?.["wandb-history.jsonl"];
      history?.content.forEach((line, i) => run.history.set(history.offset + i, JSON.parse(line)));
      const summary = payload.files?.["wandb-summary.json"];
      if (summary) run.summary = JSON.parse(summary.content[summary.content.length - 1]);
      if (payload.complete) run.complete = { exitcode: payload.exitcode };
      json(res, 200, { exitcode: null, limits: {} });
      return 200;
    }
    json(res, 404, { error: "not found" });
    return 404;
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let operation: string | undefined;
      if (req.url === "/graphql") operation = /(query|mutation) (\w+)/.exec(body)?.[2];
      const entry = { method: req.method ?? "", path: req.url ?? "", operation, status: 0 };
      fake.requests.push(entry);
      if (fake.requests.length > maxRequests) {
        void fake.close();
        return;
      }
      handle(req, res, body).then(
        (status) => (entry.status = status),
        (e) => json(res, 400, { errors: [{ message: String(e) }] }),
      );
    });
  });
  const lifetime = setTimeout(() => void fake.close(), lifetimeMs);
  lifetime.unref();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
