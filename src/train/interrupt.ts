/**
 * Ctrl-C and SIGTERM (schedulers, `timeout`, container stops) for long work, and Kernel → Interrupt in a notebook
 * (Jupyter sends the kernel SIGINT). The first signal aborts `signal`: training stops after the current step and
 * checkpoints it, evaluation after the current batch, and the records are closed. In a command (`quitOnSecond`), a
 * second signal quits at once with exit code 130: checkpoints are written to a temporary folder and renamed, so
 * none is left half-written, and `process.on("exit")` handlers (the pipeline's) mark the records interrupted on
 * the way out. A notebook's kernel must live on, so there a second signal only repeats the notice.
 */
export function interruptController(options: { what?: string; quitOnSecond?: boolean } = {}): { signal: AbortSignal; dispose(): void } {
  const { what = "this step", quitOnSecond = true } = options;
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted && quitOnSecond) {
      console.error(`\n${name} again: quitting now; the last complete checkpoint resumes.`);
      process.exit(130);
    }
    const again = quitOnSecond ? ` (${name === "SIGINT" ? "Ctrl-C" : name} again to quit now)` : "";
    console.error(`\n${name}: stopping after ${what}, keeping what is done${again}…`);
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
