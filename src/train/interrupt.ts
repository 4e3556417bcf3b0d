type SignalListener = (signal: NodeJS.Signals) => void;

/**
 * Ctrl-C and SIGTERM (schedulers, `timeout`, container stops) for a command's long work. The first signal aborts
 * `signal`: training stops after the current step and checkpoints it, evaluation after the current batch, and the
 * records are closed. A second signal quits at once with exit code 130: checkpoints are written to a temporary
 * folder and renamed, so none is left half-written, and `process.on("exit")` handlers (the pipeline's) mark the
 * records interrupted on the way out. In a notebook kernel use `interruptible` instead.
 */
export function interruptController(options: { what?: string } = {}): { signal: AbortSignal; dispose(): void } {
  const { what = "this step" } = options;
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      console.error(`\n${name} again: quitting now; the last complete checkpoint resumes.`);
      process.exit(130);
    }
    console.error(`\n${name}: stopping after ${what}, keeping what is done (${name === "SIGINT" ? "Ctrl-C" : name} again to quit now)…`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/**
 * Runs `work` so that Kernel → Interrupt (Jupyter sends the kernel SIGINT) aborts its `signal`: training stops after
 * the current step and checkpoints it, evaluation after the current batch, and `work` ends normally with what is
 * done, so the cell ends cleanly and its result is set. The kernel lives on; a second interrupt only repeats the
 * notice. Once `work` has settled, an interrupt is the kernel's own again.
 *
 * Why not simply `process.on("SIGINT")` in the cell (tslab, node_modules/tslab/dist/executor.js and main.js):
 * - tslab runs a cell's synchronous part with vm's `breakOnSigint`, which takes the SIGINT listeners away for that
 *   part; a listener added during it is left without a signal handler (Node's SIGINT watchdog restores the default
 *   action when the part ends), and the next interrupt kills the kernel. So the listener is added once the cell has
 *   yielded (`setImmediate`).
 * - tslab's own SIGINT listener rejects the running cell at once ("Interrupted asynchronously") while the work goes
 *   on in the background and the cell's variables are never set. So while `work` runs, this listener is the only
 *   one, and tslab's is put back afterwards.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>, options: { what?: string } = {}): Promise<T> {
  const { what = "the current step" } = options;
  const controller = new AbortController();
  const onSignal: SignalListener = () => {
    if (controller.signal.aborted) console.error(`\nInterrupt again: still stopping after ${what}; the kernel stays up.`);
    else console.error(`\nInterrupt: stopping after ${what}, keeping what is done…`);
    controller.abort();
  };
  let others: SignalListener[] = [];
  let attached = false;
  const attach = setImmediate(() => {
    // Ours first, then the others off: the process always has a SIGINT listener, so the signal never kills it.
    others = process.rawListeners("SIGINT") as SignalListener[];
    process.on("SIGINT", onSignal);
    for (const listener of others) process.off("SIGINT", listener);
    attached = true;
  });
  try {
    return await work(controller.signal);
  } finally {
    clearImmediate(attach);
    if (attached) {
      for (const listener of others) process.on("SIGINT", listener);
      process.off("SIGINT", onSignal);
    }
  }
}
