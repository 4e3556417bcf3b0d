import { relative, sep } from "node:path";
import { escapeHtml, tableHtml } from "../viz/table-html.js";
import { isTableRef, readTable, type RunData } from "./read-run.js";
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

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** Seconds as a reader reads them: "0.8 s", "47 s", "1 min 5 s", "2 h 3 min". */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const count = (n: number) => Math.round(n).toLocaleString("en-US");

/** How a run ended, in words; `finished` only for a run that closed with exit code 0. */
export interface RunState {
  finished: boolean;
  /** "finished", "interrupted at step 57 of 120", "failed (exit code 1) at step …", "never finished: …". */
  text: string;
  step?: number;
  maxSteps?: number;
}

export function runState(run: RunData): RunState {
  // The last logged row can lag the last step (logs every N steps); the summary has the step the trainer ended at.
  const steps = [...run.history.map((r) => num(r["train/global_step"])), num(run.summary["train/global_step"]), num(run.summary["train/last_checkpoint_step"])];
  const known = steps.filter((s): s is number => s !== undefined);
  const step = known.length ? Math.max(...known) : undefined;
  const maxSteps = num(run.config.max_steps);
  const at = step === undefined ? "before its first step" : `at step ${step}${maxSteps ? ` of ${maxSteps}` : ""}`;
  const { meta } = run;
  if (meta.state !== "finished") return { finished: false, step, maxSteps, text: `never finished: the process stopped ${at} without closing the record` };
  if (meta.exitCode === 130) return { finished: false, step, maxSteps, text: `interrupted ${at}: resume it to finish` };
  if (meta.exitCode) return { finished: false, step, maxSteps, text: `failed ${at} (exit code ${meta.exitCode})` };
  return { finished: true, step, maxSteps, text: "finished" };
}

/** The points of the accuracy curve: the base model at step 0, each evaluated checkpoint, the fine-tuned model. */
export function accuracyAtCheckpoints(run: RunData): { step: number; accuracy: number }[] {
  const points = new Map<number, number>();
  const base = num(run.summary["eval_base/accuracy"]);
  if (base !== undefined) points.set(0, base);
  for (const row of run.history) {
    const a = num(row["eval/accuracy"]);
    if (a !== undefined) points.set(num(row["train/global_step"]) ?? row._step, a);
  }
  return [...points].sort(([a], [b]) => a - b).map(([step, accuracy]) => ({ step, accuracy }));
}

/** The first and last values of a metric over the history. */
function ends(run: RunData, key: string): { first: { step: number; value: number }; last: { step: number; value: number } } | undefined {
  const points = run.history.flatMap((r) => (num(r[key]) === undefined ? [] : [{ step: num(r["train/global_step"]) ?? r._step, value: r[key] as number }]));
  return points.length ? { first: points[0]!, last: points.at(-1)! } : undefined;
}

/** Seconds spent in the training steps themselves: each logged window's tokens over its tokens per second. */
function stepSeconds(run: RunData): number | undefined {
  let tokensBefore = 0;
  let seconds = 0;
  let any = false;
  for (const row of run.history) {
    const tokens = num(row["train/num_tokens"]);
    const rate = num(row["train/tokens_per_second"]);
    if (tokens === undefined || rate === undefined || rate <= 0) continue;
    seconds += (tokens - tokensBefore) / rate;
    tokensBefore = tokens;
    any = true;
  }
  return any ? seconds : undefined;
}

export interface ReportCard {
  state: RunState;
  /** One column per stage: the base model, training, the fine-tuned model. */
  columns: string[];
  rows: string[][];
  /** Wall-clock time of the whole run, and what the stages above leave of it (data, loading, saving). */
  totalSeconds?: number;
  otherSeconds?: number;
}

/**
 * The run's report card (as nanochat ends its runs): one table of what each stage made and cost — accuracy, the
 * step-by-step score and the format reward of the base and the fine-tuned model, validation loss, tokens, wall
 * time — read from the run record alone. What a stage did not record (an unfinished run) shows as "—", never NaN.
 */
export function reportCard(run: RunData): ReportCard {
  const s = run.summary;
  const state = runState(run);
  const dash = "—";
  const accuracy = (prefix: string) => {
    const a = num(s[`${prefix}/accuracy`]);
    const n = num(s[`${prefix}/num_scored`]) ?? num(s[`${prefix}/num_samples`]);
    if (a === undefined) return dash;
    return `${(100 * a).toFixed(1)} %${n ? ` (${count(a * n)} of ${count(n)})` : ""}`;
  };
  const score = (key: string) => (num(s[key]) === undefined ? dash : (s[key] as number).toFixed(2));
  const generated = (prefix: string) => {
    const mean = num(s[`${prefix}/response_tokens/mean`]);
    const n = num(s[`${prefix}/num_samples`]);
    return mean === undefined || n === undefined ? dash : `${count(mean * n)} generated (${Math.round(mean)} per answer)`;
  };
  const seconds = (key: string) => (num(s[key]) === undefined ? dash : formatDuration(s[key] as number));

  const loss = ends(run, "eval/loss");
  const baseLoss = loss && loss.first.step === 0 ? loss.first.value.toFixed(3) : dash;
  const tunedLoss = loss && state.finished && loss.last.step > 0 ? loss.last.value.toFixed(3) : dash;
  const along = accuracyAtCheckpoints(run).filter((p) => p.step > 0 && (state.step === undefined || p.step < state.step || !state.finished));
  const checkpointSeconds = run.history.reduce((sum, r) => sum + (num(r["eval/checkpoint_runtime"]) ?? 0), 0);
  const steps = stepSeconds(run);
  const tokenRows = run.history.filter((r) => num(r["train/num_tokens"]) !== undefined);
  const trainTokens = num(tokenRows.at(-1)?.["train/num_tokens"]);
  const tokenSteps = num(tokenRows.at(-1)?.["train/global_step"]) ?? tokenRows.at(-1)?._step;
  const tuned = state.finished && num(s["eval/num_samples"]) !== undefined;

  const rows: string[][] = [
    ["accuracy", accuracy("eval_base"), along.length ? `at step ${along.map((p) => `${p.step}: ${(100 * p.accuracy).toFixed(1)} %`).join(", ")}` : "", tuned ? accuracy("eval") : dash],
    ["step-by-step score (0–1)", score("eval_base/rewards/step_by_step"), "", tuned ? score("eval/rewards/step_by_step") : dash],
    ["format reward (0–1)", score("eval_base/rewards/format"), "", tuned ? score("eval/rewards/format") : dash],
    ["validation loss (nats per token)", baseLoss, loss && loss.last.step > 0 ? `${loss.first.value.toFixed(3)} → ${loss.last.value.toFixed(3)} at step ${loss.last.step}` : "", tunedLoss],
    [
      "tokens",
      generated("eval_base"),
      trainTokens === undefined ? dash : `${count(trainTokens)} trained on in ${tokenSteps} steps`,
      tuned ? generated("eval") : dash,
    ],
    [
      "wall time",
      seconds("eval_base/runtime"),
      steps === undefined ? dash : `${formatDuration(steps)}${checkpointSeconds > 0 ? ` (+ ${formatDuration(checkpointSeconds)} evaluating ${along.length} checkpoint${along.length === 1 ? "" : "s"})` : ""}`,
      tuned ? seconds("eval/runtime") : dash,
    ],
  ];
  const totalSeconds = num(s._runtime) ?? run.meta.runtimeSeconds;
  const staged = [num(s["eval_base/runtime"]), steps, checkpointSeconds, tuned ? num(s["eval/runtime"]) : undefined].reduce<number>((a, b) => a + (b ?? 0), 0);
  return {
    state,
    columns: ["", "base model", "training", "fine-tuned model"],
    rows,
    totalSeconds,
    otherSeconds: totalSeconds === undefined ? undefined : Math.max(0, totalSeconds - staged),
  };
}

/** The report card as plain text: a header line, the table in aligned columns, the total time. */
export function formatReportCard(card: ReportCard): string {
  const widths = card.columns.map((c, i) => Math.max(c.length, ...card.rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const lines = [card.state.finished ? "Report card" : `Report card of an UNFINISHED run: ${card.state.text}`, line(card.columns), line(widths.map((w) => "─".repeat(w))), ...card.rows.map(line)];
  if (card.totalSeconds !== undefined) {
    lines.push(`total wall time ${formatDuration(card.totalSeconds)}${card.otherSeconds ? ` (data, loading, validation loss and saving: ${formatDuration(card.otherSeconds)})` : ""}`);
  }
  return lines.join("\n");
}

/** The report card as an HTML table for a notebook, an unfinished run said so above it in bold. */
export function reportCardHtml(card: ReportCard): string {
  const state = card.state.finished ? "" : `<p><b>Unfinished run: ${escapeHtml(card.state.text)}.</b> What it did not get to shows as —.</p>`;
  const total = card.totalSeconds === undefined ? "" : `<p>Total wall time ${formatDuration(card.totalSeconds)}${card.otherSeconds ? ` (data, loading, validation loss and saving: ${formatDuration(card.otherSeconds)})` : ""}.</p>`;
  return `${state}${tableHtml({ columns: card.columns, data: card.rows }, { caption: "Report card" })}${total}`;
}

/** The settings a reader looks for first, in words (the full config stays in config.json): model, parameters, LoRA, steps, batch, learning rate, data. */
export function configSummary(run: RunData): { columns: string[]; data: string[][] } {
  const c = run.config as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? count(v) : String(Number(v.toPrecision(4)))) : undefined);
  const rows: [string, string | undefined][] = [];
  if (c.model_type) rows.push(["model", `${c.model_type}: hidden size ${n(c.hidden_size)}, ${n(c.num_hidden_layers)} layers, vocabulary of ${n(c.vocab_size)} tokens`]);
  const total = num(c["model/num_parameters"]);
  const trainable = num(c["model/num_trainable_parameters"]);
  if (total !== undefined) rows.push(["parameters", `${count(total)}${trainable !== undefined ? `, of which ${count(trainable)} trained (${((100 * trainable) / total).toFixed(1)} %)` : ""}`]);
  const lora = (c.peft_config as { default?: Record<string, unknown> } | undefined)?.default;
  if (lora) {
    const targets = lora.targetModules ?? lora.target_modules;
    rows.push(["LoRA", `rank ${n(lora.r)}, α ${n(lora.alpha ?? lora.lora_alpha)}, dropout ${n(lora.dropout ?? lora.lora_dropout) ?? 0}${Array.isArray(targets) ? `, on ${targets.join(", ")}` : ""}`]);
  }
  if (c.max_steps !== undefined) rows.push(["steps", `${n(c.max_steps)}, batches of ${n(c.per_device_train_batch_size)}${num(c.gradient_accumulation_steps) && c.gradient_accumulation_steps !== 1 ? ` × ${n(c.gradient_accumulation_steps)} accumulated` : ""}`]);
  if (c.learning_rate !== undefined) {
    rows.push(["learning rate", `${n(c.learning_rate)}, ${c.lr_scheduler_type ?? "constant"} schedule${c.warmup_steps !== undefined ? ` after ${n(c.warmup_steps)} warmup steps` : ""}${c.min_lr_rate !== undefined ? `, down to ${n(c.min_lr_rate)} × the peak` : ""}`]);
  }
  const data = c.dataset as Record<string, unknown> | undefined;
  if (data) rows.push(["data", `${data.source ?? data.name ?? "?"}: ${n(data.train)} training, ${n(data.validation)} validation problems`]);
  return { columns: ["setting", "value"], data: rows.filter((r): r is [string, string] => r[1] !== undefined) };
}

/** The sample table as a reader wants it: the problem, the answers and the verdict, in words; scores rounded. */
export function readableSamples(table: Table): Table {
  const column = (name: string) => table.columns.indexOf(name);
  const [problem, gold, prediction, extracted, correct, score] = ["problem", "gold", "prediction", "extracted", "correct", "reward/step_by_step"].map(column);
  return {
    columns: ["problem", "correct answer", "the model's answer", "answer found", "right?", "step-by-step score"],
    data: table.data.map((r) => [
      r[problem!],
      r[gold!],
      r[prediction!],
      r[extracted!] || "(none)",
      r[correct!] === null ? "not scorable" : r[correct!] ? "✓" : "✗",
      typeof r[score!] === "number" ? (r[score!] as number).toFixed(2) : "",
    ]),
  };
}

/** A path as the reader should see it: relative to the working directory when under it (no machine's absolute paths in shared outputs). */
export function displayPath(path: string, from = process.cwd()): string {
  const rel = relative(from, path);
  return rel === "" ? "." : rel.startsWith("..") && rel.split(sep).filter((p) => p === "..").length > 2 ? path : rel;
}

/** A plain-text account of a run: who, where, how it ended, its report card, W&B, samples, warnings. */
export function formatRunReport(run: RunData): string {
  const { meta } = run;
  const lines = [`Run ${meta.id}${meta.name ? ` "${meta.name}"` : ""} — ${meta.mode}, project ${meta.project}${meta.entity ? `, entity ${meta.entity}` : ""}`, `  ${displayPath(run.dir)}`];
  const state = runState(run);
  lines.push(`State: ${state.finished ? `finished with exit code 0 after ${formatDuration(meta.runtimeSeconds ?? 0)}` : state.text}`);
  const remote = meta.remote;
  if (meta.mode === "online" || remote.state !== "none") {
    lines.push(`W&B: ${remote.state}${remote.url ? ` ${remote.url}` : ""}${remote.error ? ` (${remote.error})` : ""}`);
  }
  lines.push("", formatReportCard(reportCard(run)), "");
  const steps = run.history.map((r) => r._step);
  lines.push(`History: ${run.history.length} rows${steps.length ? `, steps ${steps[0]}–${steps[steps.length - 1]}` : ""}; config: ${Object.keys(run.config).length} keys`);
  const samples = run.summary["eval/samples"];
  if (isTableRef(samples)) lines.push(`Samples: ${samples.nrows} rows × ${samples.ncols} columns in ${samples.path}`);
  for (const w of run.warnings) lines.push(`Warning: ${w}`);
  return lines.join("\n");
}
