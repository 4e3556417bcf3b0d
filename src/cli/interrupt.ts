/**
 * Ctrl-C and SIGTERM (schedulers, `timeout`, container stops) for long commands. The first signal aborts
 * `signal`: training stops after the current step and checkpoints it, evaluation after the current batch, and the
 * records are closed. A second signal quits at once with exit code 130: checkpoints are written to a temporary
 * folder and renamed, so none is left half-written, and `process.on("exit")` handlers (the pipeline's) mark the
 * records interrupted on the way out.
 */
export function interruptController(what = "this step"): { signal: AbortSignal; dispose(): void } {
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
