/**
 * Starts the tslab kernel of the checkout a notebook belongs to. Jupyter starts a kernel in the notebook's folder,
 * so the tslab found from there upwards (node_modules/tslab) is that checkout's: one registered kernel serves every
 * checkout on the machine, and registering it again from another checkout changes nothing. A notebook outside any
 * checkout (a scratch copy) gets the tslab of the checkout this file sits in, when it sits in one.
 */
"use strict";
const { existsSync } = require("node:fs");
const { dirname, join, resolve } = require("node:path");

/** node_modules/tslab/dist/main.js in `from` or the nearest folder above it that has one. */
function findTslab(from) {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const main = join(dir, "node_modules", "tslab", "dist", "main.js");
    if (existsSync(main)) return main;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * A clean shutdown: once tslab has closed its sockets (a shutdown request), the process ends at once. Otherwise a
 * heartbeat that arrived just before is answered on the closed socket ("Error: Socket is closed", tslab's
 * jupyter.js), and the wasm backend's uncaught-exception handler (emscripten's, which rethrows) turns that into a
 * crash trace; and a timer or worker the notebook left behind would keep the process up until Jupyter kills it.
 */
function exitOnClose(main) {
  const jupyter = require(join(dirname(main), "jupyter.js"));
  const server = jupyter.ZmqServer && jupyter.ZmqServer.prototype;
  if (!server || typeof server.close !== "function") return;
  const close = server.close;
  server.close = function () {
    close.call(this);
    process.exit(0);
  };
}

module.exports = { findTslab };

if (require.main === module) {
  const main = findTslab(process.cwd()) ?? findTslab(__dirname);
  if (!main) {
    console.error(`tslab kernel: no node_modules/tslab in ${process.cwd()} or above it: run \`npm ci\` in the checkout that holds this notebook`);
    process.exit(1);
  }
  exitOnClose(main);
  require(main).main();
}
