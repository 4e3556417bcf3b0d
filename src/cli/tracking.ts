import type { Command } from "commander";
import { formatRunReport, latestRunDir, readRun, syncRun } from "../tracking/index.js";

/** Runs a command body; a failure prints its message (which names the run directory) and sets exit code 1. */
async function reporting(body: () => void | Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

/** `report [RUN_DIR]` and `sync RUN_DIR`: look at a recorded run, upload an offline one to W&B. */
export function registerTrackingCommands(program: Command): void {
  program
    .command("report")
    .description("Print a summary of a run directory (default: the latest under ./runs or $WANDB_DIR)")
    .argument("[run_dir]", "run directory (runs/run-<time>-<id>)")
    .action((runDir: string | undefined) =>
      reporting(() => {
        console.log(formatRunReport(readRun(runDir ?? latestRunDir(process.env.WANDB_DIR ?? "runs"))));
      }),
    );
  program
    .command("sync")
    .description("Upload a run directory to Weights & Biases under its run id (needs WANDB_API_KEY)")
    .argument("<run_dir>", "run directory (runs/run-<time>-<id>)")
    .option("--project <name>", "W&B project (default: the run's)")
    .option("--entity <name>", "W&B entity (default: the run's, WANDB_ENTITY, or the key's default)")
    .option("--base-url <url>", "W&B API address (default: WANDB_BASE_URL, else the one the run was recorded with, else https://api.wandb.ai)")
    .action((runDir: string, opts: { project?: string; entity?: string; baseUrl?: string }) =>
      reporting(async () => {
        const result = await syncRun(runDir, opts);
        console.log(`Synced ${result.rows} history rows and ${result.tables} table(s): ${result.url}`);
      }),
    );
}
