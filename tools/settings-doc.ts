/**
 * Writes docs/settings.md, the reference of every setting, from the settings' own definitions (src/settings.ts and
 * the schemas it names): its `--set` key, its flags, the values it takes, its default, what each profile changes and
 * its help text. tests/pipeline/settings-doc.test.ts fails when the file is not what this writes.
 *
 *   npm run docs:settings        (node --import tsx tools/settings-doc.ts)
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import { EVALUATE_SETTINGS } from "../src/cli/eval.js";
import { GRPO_SETTINGS } from "../src/cli/grpo.js";
import { TRAIN_SETTINGS } from "../src/cli/train.js";
import { pipelineConfigSchema, profiles, rlProfiles } from "../src/pipeline/config.js";
import { OPEN_R1_SYSTEM_PROMPT } from "../src/data/prompt.js";
import { grpoSettings, rlSettings } from "../src/rl/settings.js";
import { serveSettings } from "../src/serve/settings.js";
import { settingDefault, settingHelp, settingLeaves, settingRule } from "../src/settings.js";

export const SETTINGS_DOC = fileURLToPath(new URL("../docs/settings.md", import.meta.url));

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const code = (s: string) => `\`${s}\``;
const cell = (s: string) => s.replaceAll("|", "\\|");

function value(v: unknown): string {
  if (v === undefined) return "—";
  if (Array.isArray(v)) return code(v.join(","));
  return code(typeof v === "string" ? v : String(v));
}

const at = (config: unknown, path: string[]) => path.reduce((node: unknown, k) => (node as Record<string, unknown>)[k], config);

function flagsOf(path: string): string {
  const flags = [
    ...TRAIN_SETTINGS.filter((s) => s.path === path).map((s) => `train --${s.flag}`),
    ...EVALUATE_SETTINGS.filter((s) => s.path === path).map((s) => `evaluate --${s.flag}`),
    ...GRPO_SETTINGS.filter((s) => s.path === path).map((s) => `grpo --${s.flag}`),
    // `openr1 data` reads these two as the split's settings (its own default size: 0.05).
    ...(path === "seed" || path === "data.validation" ? [`data --${path.replace("data.", "")}`] : []),
  ];
  return flags.map(code).join(", ") || "—";
}

const SECTIONS: Record<string, string> = {
  "": "The run",
  data: "Data (`data.*`)",
  model: "Model (`model.*`)",
  lora: "LoRA (`lora.*`): src/model/lora.ts",
  train: "Training (`train.*`): src/train/settings.ts",
  eval: "Evaluation (`eval.*`): src/eval/settings.ts",
  rl: "Reinforcement learning (`rl.*`): src/rl/settings.ts",
  tracking: "Tracking (`tracking.*`)",
};

/** What `openr1 grpo`'s profiles change, and the GRPO settings only the library takes. */
function rlNote(): string[] {
  const base = profiles.default.rl as Record<string, unknown>;
  const r1 = rlProfiles["r1-zero"];
  const changes = Object.entries(r1.rl)
    .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(base[k]))
    .map(([k, v]) => `${code(`rl.${k}`)} ${value(v)}`);
  const lines = [
    `\`openr1 grpo\` runs these settings alone (\`rl.enabled\` is a run's switch for its RL stage). \`--profile default\` is the`,
    `default profile's, from ${code(rlProfiles.default.model)}; \`--profile r1-zero\` starts from ${code(r1.model)} and changes ${changes.join(", ")}.`,
    "",
    "`trainGrpo()` takes these settings but `enabled` and `method` (`runGrpoJob` takes `method`), and a few more:",
    "",
    "| setting | values | default | what it is |",
    "|---|---|---|---|",
  ];
  for (const [key, schema] of Object.entries(grpoSettings.shape) as [string, z.ZodType][]) {
    if (key in rlSettings.shape || key === "outputDir" || key === "seed") continue;
    const fallback = settingDefault(schema);
    const shown = fallback === OPEN_R1_SYSTEM_PROMPT ? "open-r1's system prompt" : value(fallback);
    lines.push(`| ${code(key)} | ${cell(settingRule(schema))} | ${shown} | ${cell(settingHelp(schema) ?? "")} |`);
  }
  return lines;
}

/** docs/settings.md as the settings define it. */
export function settingsReference(): string {
  const lines = [
    "<!-- Written by `npm run docs:settings` (tools/settings-doc.ts) from the settings' definitions: edit those, not this file. -->",
    "# Settings",
    "",
    "Every setting is defined once, as a zod schema next to the code that uses it (src/settings.ts says how): its type,",
    "the values it takes, its default and the help text below. Each door reads it with that schema — `openr1 run --set",
    "key=value` or a config file, the flags of `openr1 train` / `openr1 grpo` / `openr1 evaluate` / `openr1 serve`, and the",
    "library (`train()`, `runTrainJob`, `LoraModel.create`, `trainGrpo()`, `runGrpoJob`, `evaluate()`, `splitExamples`,",
    "`GenerationEngine`, `startServer`) — so",
    "each takes the same values and refuses the others with the same words (`train.learningRate must be a number > 0, got",
    "0`). On a command line a value is read as its setting's type: numbers, `true`/`false`, `null` where null is allowed,",
    "lists comma-separated (or as JSON). `--print-config` shows a run's resolved settings.",
    "",
    "The defaults are the embedded default's (`npm start`), so `openr1 train`, `openr1 grpo`, `openr1 run`, `train()` and",
    "`trainGrpo()` start from the same values; the evaluation's are `openr1 evaluate`'s (any model: 512 new tokens, every problem), and the profiles",
    "set their own. A profile column shows a value only where the profile differs from the default.",
  ];
  const leaves = settingLeaves(pipelineConfigSchema);
  for (const [section, title] of Object.entries(SECTIONS)) {
    const rows = leaves.filter((l) => (section === "" ? l.path.length === 1 : l.path[0] === section));
    lines.push("", `## ${title}`, "", "| setting | flags | values | default | profile `default` | profile `full` | what it is |", "|---|---|---|---|---|---|---|");
    for (const { path, schema } of rows) {
      const fallback = settingDefault(schema);
      const differs = (profile: "default" | "full") => {
        const v = at(profiles[profile], path);
        return JSON.stringify(v) === JSON.stringify(fallback) ? "" : value(v);
      };
      const key = path.join(".");
      lines.push(`| ${code(key)} | ${flagsOf(key)} | ${cell(settingRule(schema))} | ${value(fallback)} | ${differs("default")} | ${differs("full")} | ${cell(settingHelp(schema) ?? "")} |`);
    }
    if (section === "rl") lines.push("", ...rlNote());
  }
  lines.push(
    "",
    "## Serving (`openr1 serve`): src/serve/settings.ts",
    "",
    "Not part of a run: `openr1 serve`'s flags, and `GenerationEngine`'s (maxBatch, maxQueue, prefillChunk) and `startServer`'s options.",
    "",
    "| setting | flag | values | default | what it is |",
    "|---|---|---|---|---|",
  );
  for (const [key, schema] of Object.entries(serveSettings.shape) as [string, z.ZodType][]) {
    lines.push(`| ${code(key)} | ${code(`serve --${kebab(key)}`)} | ${cell(settingRule(schema))} | ${value(settingDefault(schema))} | ${cell(settingHelp(schema) ?? "")} |`);
  }
  return `${lines.join("\n")}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SETTINGS_DOC, settingsReference());
  console.log(`wrote ${SETTINGS_DOC}`);
}
