import cliProgress from "cli-progress";

export interface ByteProgress {
  advance(bytes: number): void;
  stop(): void;
}

const quiet: ByteProgress = { advance() {}, stop() {} };

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** A download bar on stderr (MB done / MB total), or a no-op when disabled. */
export function byteProgress(label: string, total: number | undefined, start: number, enabled: boolean): ByteProgress {
  if (!enabled) return quiet;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {doneMb}/{totalMb} MB {speed} MB/s`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const totalBytes = total ?? 0;
  let done = start;
  const began = Date.now();
  const payload = () => ({
    doneMb: megabytes(done),
    totalMb: total === undefined ? "?" : megabytes(totalBytes),
    speed: megabytes(((done - start) * 1000) / Math.max(1, Date.now() - began)),
  });
  bar.start(Math.max(totalBytes, 1), Math.min(done, totalBytes), payload());
  return {
    advance(bytes) {
      done += bytes;
      bar.update(Math.min(done, Math.max(totalBytes, 1)), payload());
    },
    stop() {
      bar.stop();
    },
  };
}
