import { InvalidArgumentError, Option, type Command } from "commander";
import { z } from "zod";
import { describeIssues, fromText, settingDefault, settingHelp, settingRule, unwrapSetting } from "../settings.js";

/** commander cannot hold null (a parser's null becomes ""): a null setting travels as this until the action. */
const NULL = Symbol("null");
const withNulls = new WeakSet<Command>();

const show = (v: unknown) => (Array.isArray(v) ? v.join(",") : String(v));

/**
 * A command-line option for one setting: its help (what it is, the values it takes, its default) and its parser come
 * from the setting's schema, and the value is read from text as `--set` reads it (fromText), so a flag and `--set`
 * accept the same values and refuse the others with the same words, naming the setting (`path`).
 */
export function settingOption(flag: string, schema: z.ZodType, path: string, valueName?: string): Option[] {
  const { base } = unwrapSetting(schema);
  const boolean = base instanceof z.ZodBoolean;
  valueName ??= base instanceof z.ZodNumber ? "n" : base instanceof z.ZodArray ? "list" : base instanceof z.ZodEnum && base.options.join("|").length <= 20 ? base.options.join("|") : "value";
  const fallback = settingDefault(schema);
  const rule = settingRule(schema);
  const help = `${settingHelp(schema) ?? path} [${path}${rule === "a non-empty string" ? "" : `: ${rule}`}]`;
  const parse = (raw: string) => {
    const r = schema.safeParse(fromText(schema, raw), { reportInput: true });
    if (!r.success) throw new InvalidArgumentError(describeIssues(r.error.issues, path.split("."))[0]!);
    return r.data === null ? NULL : r.data;
  };
  if (!boolean) {
    const option = new Option(`--${flag} <${valueName}>`, help).argParser(parse);
    return [fallback === undefined ? option : option.default(fallback, show(fallback))];
  }
  // --flag, --flag true|false, --no-flag
  const option = new Option(`--${flag} [bool]`, help).argParser(parse).default(fallback, show(fallback));
  return [option, new Option(`--no-${flag}`, `${path}: false`)];
}

/** Adds setting options to a command; before its action runs, a setting given as null is null again. */
export function addOptions(command: Command, options: Option[]): Command {
  for (const o of options) command.addOption(o);
  if (!withNulls.has(command)) {
    withNulls.add(command);
    command.hook("preAction", (c) => {
      for (const [key, value] of Object.entries(c.opts())) if (value === NULL) c.setOptionValueWithSource(key, null, c.getOptionValueSource(key)!);
    });
  }
  return command;
}
