import { isTableRef, readTable, type RunData } from "./readRun.js";
import type { Table } from "./types.js";

/** The `reward/<name>` columns of a sample table, as {name: values}, leaving out samples without a value. */
export function rewardColumns(table: Table): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  table.columns.forEach((c, i) => {
    if (c.startsWith("reward/")) out[c.slice(7)] = table.data.map((r) => r[i]).filter((v): v is number => typeof v === "number");
  });
  return out;
}

/** The table last logged under `key` (the summary's reference, else the last history row's). */
export function latestTable(run: RunData, key: string): Table | undefined {
  const fromSummary = run.summary[key];
  const ref = isTableRef(fromSummary) ? fromSummary : [...run.history].reverse().map((r) => r[key]).find(isTableRef);
  return ref ? readTable(run.dir, ref) : undefined;
}

/** One column of a table by name (throws naming the columns there are). */
export function tableColumn(table: Table, name: string): unknown[] {
  const i = table.columns.indexOf(name);
  if (i < 0) throw new Error(`table has no column "${name}" (columns: ${table.columns.join(", ")})`);
  return table.data.map((row) => row[i]);
}

/** Values of the summary whose keys start with `prefix`, keyed by the rest (e.g. eval/accuracy/ → by type). */
export function summaryGroup(run: RunData, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(run.summary)) if (k.startsWith(prefix) && typeof v === "number") out[k.slice(prefix.length)] = v;
  return out;
}

const fmt = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : JSON.stringify(v));

function series(run: RunData, key: string): string | undefined {
  const values = run.history.map((r) => r[key]).filter((v): v is number => typeof v === "number");
  if (values.length === 0) return undefined;
  return `${key}: ${fmt(values[0])} → ${fmt(values[values.length - 1])} (min ${fmt(Math.min(...values))}, ${values.length} points)`;
}

/** A plain-text account of a run: who, how it ended, training curves' ends, evaluation results. */
export function formatRunReport(run: RunData): string {
  const { meta } = run;
  const lines = [`Run ${meta.id}${meta.name ? ` "${meta.name}"` : ""} — ${meta.mode}, project ${meta.project}${meta.entity ? `, entity ${meta.entity}` : ""}`, `  ${run.dir}`];
  lines.push(
    meta.state === "finished"
      ? `State: finished with exit code ${meta.exitCode ?? 0} after ${fmt(meta.runtimeSeconds ?? 0)} s`
      : `State: ${meta.state} (never finished: the process stopped; everything logged is kept)`,
  );
  const remote = meta.remote;
  if (meta.mode === "online" || remote.state !== "none") {
    lines.push(`W&B: ${remote.state}${remote.url ? ` ${remote.url}` : ""}${remote.error ? ` (${remote.error})` : ""}`);
  }
  const configKeys = Object.keys(run.config);
  lines.push(`Config: ${configKeys.length} keys`);
  for (const k of ["learning_rate", "max_steps", "num_train_epochs", "model/num_parameters", "model/num_trainable_parameters"]) {
    if (k in run.config) lines.push(`  ${k} = ${fmt(run.config[k])}`);
  }
  const steps = run.history.map((r) => r._step);
  lines.push(`History: ${run.history.length} rows${steps.length ? `, steps ${steps[0]}–${steps[steps.length - 1]}` : ""}`);
  for (const k of ["train/loss", "eval/loss", "train/learning_rate", "train/grad_norm", "train/tokens_per_second"]) {
    const s = series(run, k);
    if (s) lines.push(`  ${s}`);
  }
  const evalKeys = Object.keys(run.summary).filter((k) => k.startsWith("eval/") && typeof run.summary[k] === "number" && k !== "eval/loss");
  if (evalKeys.length > 0) {
    lines.push("Evaluation:");
    for (const k of evalKeys.sort()) lines.push(`  ${k} = ${fmt(run.summary[k])}`);
  }
  const samples = run.summary["eval/samples"];
  if (isTableRef(samples)) lines.push(`Samples: ${samples.nrows} rows × ${samples.ncols} columns in ${samples.path}`);
  for (const w of run.warnings) lines.push(`Warning: ${w}`);
  return lines.join("\n");
}
