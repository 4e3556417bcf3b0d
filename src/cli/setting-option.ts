import { InvalidArgumentError, Option, type Command } from "commander";
import { z } from "zod";
import { describeIssues, fromText, settingDefault, settingRule, unwrapSetting } from "../settings.js";

const show = (v: unknown) => (Array.isArray(v) ? v.join(",") : String(v));

/**
 * A command-line option for one setting: its help (what it is, the values it takes, its default) and its parser come
 * from the setting's schema, and the value is read from text as `--set` reads it (fromText), so a flag and `--set`
 * accept the same values and refuse the others with the same words, naming the setting (`path`).
 */
export function settingOption(flag: string, schema: z.ZodType, path: string, valueName?: string): Option[] {
  const { base } = unwrapSetting(schema);
  const boolean = base instanceof z.ZodBoolean;
  valueName ??= base instanceof z.ZodNumber ? "n" : base instanceof z.ZodArray ? "list" : "value";
  const fallback = settingDefault(schema);
  const help = `${schema.description ?? path} [${path}: ${settingRule(schema)}]`;
  const parse = (raw: string) => {
    const r = schema.safeParse(fromText(schema, raw), { reportInput: true });
    if (!r.success) throw new InvalidArgumentError(describeIssues(r.error.issues, path.split("."))[0]!);
    return r.data;
  };
  if (!boolean) {
    const option = new Option(`--${flag} <${valueName}>`, help).argParser(parse);
    return [fallback === undefined ? option : option.default(fallback, show(fallback))];
  }
  // --flag, --flag true|false, --no-flag
  const option = new Option(`--${flag} [bool]`, help).argParser(parse).default(fallback, show(fallback));
  return [option, new Option(`--no-${flag}`, `${path}: false`)];
}

/** Adds the options to a command. */
export function addOptions(command: Command, options: Option[]): Command {
  for (const o of options) command.addOption(o);
  return command;
}

/** The settings a command's user gave on its command line (not the defaults shown in its help), by attribute name. */
export function givenOptions(command: Command, names: readonly string[]): Record<string, unknown> {
  const opts = command.opts();
  return Object.fromEntries(names.filter((n) => command.getOptionValueSource(n) === "cli").map((n) => [n, opts[n]]));
}

