import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A file the fake Hub serves. */
export interface FakeFile {
  body: Buffer;
  /** Served like an LFS file: the resolve URL redirects to a CDN path and announces X-Linked-Size / X-Linked-Etag. */
  lfs?: boolean;
  /** Announce this sha256 instead of the real one (checksum-mismatch tests). */
  announcedSha256?: string;
  /** Cut the connection after this many body bytes on the first N GETs. */
  cutAfter?: number;
  cutTimes?: number;
  /** Send this many body bytes on the first GET, then nothing more (a stalled server). */
  stallAfter?: number;
  /** Extra response headers on GET (e.g. a pagination Link). */
  headers?: Record<string, string>;
  /** Announce this ETag (X-Linked-Etag for LFS files) instead of a content hash, as some mirrors do. */
  etag?: string;
  /** Announce no size (no X-Linked-Size / Content-Length on HEAD). */
  omitSize?: boolean;
  /** Serve another body on every GET (its first byte is the GET's number): a server that does not serve one file. */
  varying?: boolean;
}

export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

/** A loopback HTTP server speaking the Hub's resolve protocol, recording every request it sees. */
export class FakeHub {
  readonly requests: SeenRequest[] = [];
  /** Status to answer instead of serving (e.g. 401, 404), with an optional X-Error-Code. */
  status?: { code: number; errorCode?: string };
  /** "html": every request answered 200 with a web page (a portal or a wrong HF_ENDPOINT); "silent": never answered. */
  mode?: "html" | "silent";
  /** Only the CDN answers with a web page. */
  cdnHtml = false;
  requiredToken?: string;
  /** Called as each request arrives, before it is answered. */
  onRequest?: (req: SeenRequest) => void;
  private server: Server;
  /** The CDN is a second server: another origin, as the real CDN is. */
  private cdn: Server;
  private cuts = new Map<string, number>();
  private stalls = new Set<string>();

  constructor(readonly files: Record<string, FakeFile>) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.cdn = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    await new Promise<void>((resolve) => this.cdn.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const server of [this.server, this.cdn]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  gets(): SeenRequest[] {
    return this.requests.filter((r) => r.method === "GET");
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = decodeURIComponent(req.url ?? "");
    const seen = { method: req.method ?? "", url, range: req.headers.range, authorization: req.headers.authorization };
    this.requests.push(seen);
    this.onRequest?.(seen);
    if (this.mode === "silent") return;
    if (this.mode === "html" || (this.cdnHtml && url.startsWith("/cdn/"))) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(req.method === "HEAD" ? undefined : "<!doctype html><html><body>Sign in to continue</body></html>");
      return;
    }
    if (this.status) {
      res.writeHead(this.status.code, this.status.errorCode ? { "x-error-code": this.status.errorCode } : {});
      res.end();
      return;
    }
    if (this.requiredToken && req.headers.authorization !== `Bearer ${this.requiredToken}` && !url.startsWith("/cdn/")) {
      res.writeHead(401);
      res.end();
      return;
    }
    const cdn = url.startsWith("/cdn/");
    const key = cdn ? url.slice("/cdn".length) : url;
    const file = this.files[key];
    if (!file) {
      res.writeHead(404, { "x-error-code": "EntryNotFound" });
      res.end();
      return;
    }
    const sha = file.announcedSha256 ?? createHash("sha256").update(file.body).digest("hex");
    // Files kept in git are announced by their git blob sha1, as the Hub does.
    const gitSha1 = createHash("sha1").update(`blob ${file.body.length}\0`).update(file.body).digest("hex");
    if (req.method === "HEAD") {
      const commit = { "x-repo-commit": "e4e141ec9dea9f8326f4d347be56105859b2bd68" };
      const size = file.omitSize ? undefined : String(file.body.length);
      if (file.lfs) {
        res.writeHead(302, {
          ...commit,
          location: `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}/cdn${key}`,
          ...(size && { "x-linked-size": size }),
          "x-linked-etag": file.etag ?? `"${sha}"`,
        });
      } else {
        res.writeHead(200, { ...commit, ...(size && { "content-length": size }), etag: file.etag ?? `"${file.announcedSha256?.slice(0, 40) ?? gitSha1}"` });
      }
      res.end();
      return;
    }
    let start = 0;
    const range = req.headers.range?.match(/^bytes=(\d+)-$/);
    if (range) start = Number(range[1]);
    const served = file.varying ? Buffer.concat([Buffer.from([this.gets().length]), file.body.subarray(1)]) : file.body;
    const body = served.subarray(start);
    const headers: Record<string, string> = { "content-length": String(body.length), ...file.headers };
    if (range) headers["content-range"] = `bytes ${start}-${file.body.length - 1}/${file.body.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (file.stallAfter !== undefined && !this.stalls.has(key)) {
      this.stalls.add(key);
      res.write(body.subarray(0, file.stallAfter));
      return;
    }
    const cutsSoFar = this.cuts.get(key) ?? 0;
    if (file.cutAfter !== undefined && cutsSoFar < (file.cutTimes ?? 1)) {
      this.cuts.set(key, cutsSoFar + 1);
      // Part of the body, a pause for the client to take it in, then a premature end of the connection.
      res.write(body.subarray(0, file.cutAfter), () => setTimeout(() => res.socket?.end(), 50));
      return;
    }
    res.end(body);
  }
}
