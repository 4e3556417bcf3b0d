import type { Command } from "commander";
import { exportTrl } from "../export/trl.js";

/** `openr1 export trl RUN_DIR`: hand a run's data and recipe to TRL / open-r1 on a GPU cluster. */
export function registerExportCommands(program: Command): void {
  const exp = program.command("export").description("Hand a run to other tools");
  exp
    .command("trl")
    .description("Write a pipeline run's split as prompt/completion parquet, an SFT recipe that open-r1 (TRL 0.18) and `trl sft` (TRL 1.x) read unedited, and launch.sh")
    .argument("<run-dir>", "a folder made by `openr1 run` (holds pipeline.json), e.g. runs/default")
    .option("--out <dir>", "where to write (default: <run-dir>/trl)")
    .option("--dataset-path <path>", "where the exported folder will be on the training machine: the recipe's dataset_name (default: where it is written)")
    .action((runDir: string, o: { out?: string; datasetPath?: string }) => {
      const r = exportTrl(runDir, { outDir: o.out, datasetPath: o.datasetPath });
      console.log(`train: ${r.train.rows} examples → ${r.train.path}`);
      console.log(`test: ${r.test.rows} examples → ${r.test.path}`);
      console.log(`recipe: ${r.recipe}\nlaunch: ${r.launch}`);
      for (const w of r.warnings) console.log(`note: ${w}`);
    });
}
