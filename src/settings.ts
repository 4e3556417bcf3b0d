/**
 * How a setting is defined: once, as a zod schema with its type, range, default and help text. Every door — a CLI
 * flag, `openr1 run --set key=value`, a config file, a library call — parses a value with that schema, so each door
 * accepts the same values and refuses the others with the same words ("must be an integer ≥ 1"). The settings
 * themselves live with the code that uses them (src/model/lora.ts, src/train/settings.ts, src/eval/settings.ts,
 * src/serve/settings.ts, src/rl/settings.ts); src/pipeline/config.ts composes them into the run's configuration.
 */
import { z } from "zod";

interface Bounds {
  /** ≥ min */
  min?: number;
  /** > gt */
  gt?: number;
  /** ≤ max */
  max?: number;
  /** < lt */
  lt?: number;
}

const fmt = (x: number) => String(x);

/** "an integer ≥ 1", "a number > 0", "a number in [0, 1)", … */
function describeRange(kind: string, b: Bounds): string {
  const low = b.gt !== undefined ? ["(", b.gt] as const : b.min !== undefined ? ["[", b.min] as const : undefined;
  const high = b.lt !== undefined ? [")", b.lt] as const : b.max !== undefined ? ["]", b.max] as const : undefined;
  if (low && high) return `${kind} in ${low[0]}${fmt(low[1])}, ${fmt(high[1])}${high[0]}`;
  if (low) return `${kind} ${low[0] === "(" ? ">" : "≥"} ${fmt(low[1])}`;
  if (high) return `${kind} ${high[0] === ")" ? "<" : "≤"} ${fmt(high[1])}`;
  return kind;
}

const orNull = (rule: string, nullable?: boolean) => (nullable ? `${rule}, or null` : rule);

function bounded(rule: string, b: Bounds, int: boolean): z.ZodNumber {
  const error = `must be ${rule}`;
  let s = z.number({ error });
  if (int) s = s.int({ error });
  if (b.min !== undefined) s = s.min(b.min, { error });
  if (b.gt !== undefined) s = s.gt(b.gt, { error });
  if (b.max !== undefined) s = s.max(b.max, { error });
  if (b.lt !== undefined) s = s.lt(b.lt, { error });
  return s;
}

/** An integer setting; one message for every way a value can be wrong. */
export function integer(b: Bounds = {}): z.ZodNumber {
  return bounded(describeRange("an integer", b), b, true);
}

/** A nullable integer setting (null: the meaning its help gives). */
export function integerOrNull(b: Bounds = {}): z.ZodNullable<z.ZodNumber> {
  return bounded(orNull(describeRange("an integer", b), true), b, true).nullable();
}

/** A finite number setting. */
export function real(b: Bounds = {}): z.ZodNumber {
  return bounded(describeRange("a number", b), b, false);
}

/** A nullable finite number setting. */
export function realOrNull(b: Bounds = {}): z.ZodNullable<z.ZodNumber> {
  return bounded(orNull(describeRange("a number", b), true), b, false).nullable();
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

export function flag(): z.ZodBoolean {
  return z.boolean({ error: "must be true or false" });
}

/** A non-empty string; `pattern` with the words that say what it must look like. */
export function text(pattern?: { regex: RegExp; rule: string }): z.ZodString {
  const error = `must be ${pattern?.rule ?? "a non-empty string"}`;
  const s = z.string({ error }).min(1, { error });
  return pattern ? s.regex(pattern.regex, { error }) : s;
}

export function textOrNull(pattern?: { regex: RegExp; rule: string }): z.ZodNullable<z.ZodString> {
  const error = `must be ${orNull(pattern?.rule ?? "a non-empty string", true)}`;
  const s = z.string({ error }).min(1, { error });
  return (pattern ? s.regex(pattern.regex, { error }) : s).nullable();
}

/** A non-empty list of names from `values` (on a command line: comma-separated). */
export function listOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodArray<z.ZodEnum<{ [K in T[number]]: K }>> {
  const error = `must be a non-empty list of ${values.join(", ")}`;
  return z.array(z.enum(values, { error }), { error }).min(1, { error });
}

/** A non-empty list of finite numbers (on a command line: comma-separated), or null. */
export function realListOrNull(): z.ZodNullable<z.ZodArray<z.ZodNumber>> {
  const error = "must be a non-empty list of numbers, or null";
  return z.array(z.number({ error }), { error }).min(1, { error }).nullable();
}

/** The seed of everything random in a run: the split, the data order, dropout, LoRA's initial A and sampling. */
export const seedSetting = integer({ min: 0 }).default(42).describe("seed of the data split, the data order, dropout, the LoRA initialisation and sampling");

/** A schema without its default/nullable/optional wrappers, and whether null is allowed. */
export function unwrapSetting(schema: z.ZodType): { base: z.ZodType; nullable: boolean } {
  let s: z.ZodType = schema;
  let nullable = false;
  for (;;) {
    if (s instanceof z.ZodNullable) nullable = true;
    if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else return { base: s, nullable };
  }
}

function json(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * A value written as text (a CLI flag's argument, the right side of `--set key=value`) as the setting's type:
 * numbers as Number() reads them, `true`/`false`, `null` where null is allowed, lists comma-separated or as JSON,
 * strings as written (or as a JSON string literal). The schema then judges it: both doors read text the same way.
 */
export function fromText(schema: z.ZodType, raw: string): unknown {
  const { base, nullable } = unwrapSetting(schema);
  if (nullable && raw === "null") return null;
  if (base instanceof z.ZodNumber) return raw.trim() !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  if (base instanceof z.ZodBoolean) return raw === "true" ? true : raw === "false" ? false : raw;
  if (base instanceof z.ZodString || base instanceof z.ZodEnum) return /^".*"$/s.test(raw) ? json(raw) : raw;
  if (base instanceof z.ZodArray) {
    if (raw.trim().startsWith("[")) return json(raw);
    const items = raw.split(",").map((s) => s.trim());
    return items.length === 1 && items[0] === "" ? [] : items.map((item) => fromText(base.element as z.ZodType, item));
  }
  return json(raw);
}

const show = (v: unknown) => {
  const s = typeof v === "number" && !Number.isFinite(v) ? String(v) : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

/** One line per wrong setting: `train.learningRate must be a number > 0, got 0`; unknown keys named. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: string[] = []): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    // A list's wrong element is named by the list's setting (its message says what the elements may be).
    const path = [...prefix, ...issue.path.filter((k) => typeof k !== "number").map(String)].join(".");
    if (issue.code === "unrecognized_keys") {
      const names = issue.keys.map((k) => `"${path ? `${path}.` : ""}${k}"`).join(", ");
      lines.push(`unknown setting${issue.keys.length > 1 ? "s" : ""} ${names}`);
      continue;
    }
    if (seen.has(path)) continue;
    seen.add(path);
    const got = "input" in issue && issue.input !== undefined ? `, got ${show(issue.input)}` : issue.code === "invalid_type" ? ", got nothing" : "";
    lines.push(`${path || "the value"} ${issue.message}${got}`);
  }
  return lines;
}

/** Settings parsed by their schema, or an Error whose message names each wrong one under `title`. */
export function parseSettings<S extends z.ZodType>(schema: S, value: unknown, title: string, prefix: string[] = []): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const lines = describeIssues(r.error.issues, prefix);
  throw new Error(lines.length === 1 ? `${title}: ${lines[0]}` : `${title}:\n  ${lines.join("\n  ")}`);
}

/** The rule a setting's values must follow ("an integer ≥ 1"), from the message its schema gives a wrong value. */
export function settingRule(schema: z.ZodType): string {
  const r = schema.safeParse(Symbol("not a value"));
  const message = r.success ? "any value" : r.error.issues[0]!.message;
  return message.replace(/^must be /, "");
}

/** A setting's help text: its own description, or that of the schema it wraps (a default over a described setting). */
export function settingHelp(schema: z.ZodType): string | undefined {
  let s: z.ZodType = schema;
  for (;;) {
    if (s.description) return s.description;
    if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else return undefined;
  }
}

/** The default of a setting (undefined when it has none). */
export function settingDefault(schema: z.ZodType): unknown {
  const r = schema.safeParse(undefined);
  return r.success ? r.data : undefined;
}

/** Each leaf setting of an object schema with its dotted path, in the schema's order. */
export function settingLeaves(schema: z.ZodType, prefix: string[] = []): { path: string[]; schema: z.ZodType }[] {
  const { base } = unwrapSetting(schema);
  if (!(base instanceof z.ZodObject)) return [{ path: prefix, schema }];
  return Object.entries(base.shape as Record<string, z.ZodType>).flatMap(([k, s]) => settingLeaves(s, [...prefix, k]));
}

/** The schema of the setting at `path` in an object schema, or undefined. */
export function settingAt(schema: z.ZodType, path: readonly string[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const key of path) {
    const { base }: { base: z.ZodType } = unwrapSetting(s);
    if (!(base instanceof z.ZodObject)) return undefined;
    s = (base.shape as Record<string, z.ZodType>)[key];
    if (!s) return undefined;
  }
  return s;
}
