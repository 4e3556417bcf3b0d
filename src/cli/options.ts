import { InvalidArgumentError, type Command, type Option } from "commander";
import { pipelineConfigSchema, type PipelineConfigInput } from "../pipeline/config.js";
import { settingAt } from "../settings.js";
import { settingOption } from "./setting-option.js";

export { addOptions, settingOption } from "./setting-option.js";

/** Option parsers for the options that are not settings: each names the option in its error. */
export const int = (name: string, min = 0) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be ${min === 0 ? "a non-negative integer" : `an integer >= ${min}`}`);
  return n;
};

export const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
  return n;
};

export const oneOf = <T extends string>(name: string, values: readonly T[]) => (v: string) => {
  if (!values.includes(v as T)) throw new InvalidArgumentError(`${name} must be one of ${values.join(", ")}`);
  return v as T;
};

/** A setting of the run's configuration (src/pipeline/config.ts) as an option. */
export function configOption(flag: string, path: string, valueName?: string): Option[] {
  const schema = settingAt(pipelineConfigSchema, path.split("."));
  if (!schema) throw new Error(`no setting ${path}`);
  return settingOption(flag, schema, path, valueName);
}

/** --backend: auto, tensorflow, webgpu, wasm or cpu (the configuration's `backend` setting). */
export const backendOption = () => configOption("backend", "backend", "name")[0]!;

/** Flags whose names are not the setting's own (kebab-case, `lora-` before a LoRA setting). */
const FLAG_NAMES: Record<string, string> = {
  "data.source": "data",
  "data.limit": "limit",
  "data.validation": "validation",
  "model.source": "model",
  "train.gradientAccumulation": "grad-accum",
  "train.learningRate": "lr",
  "lora.targetModules": "lora-targets",
  "rl.learningRate": "lr",
};

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The flag of a setting of the run's configuration, the same in every command that has it. */
export function settingFlag(path: string): string {
  const [section, key] = path.split(".");
  return FLAG_NAMES[path] ?? (key === undefined ? section! : `${section === "lora" ? "lora-" : ""}${kebab(key)}`);
}

/** The settings given on the command line (not those left at their defaults), as a configuration patch. */
export function givenSettings(command: Command, settings: readonly { path: string; flag: string }[]): PipelineConfigInput {
  const patch: Record<string, unknown> = {};
  for (const { path, flag } of settings) {
    const attribute = command.options.find((option) => option.long === `--${flag}`)!.attributeName();
    if (command.getOptionValueSource(attribute) !== "cli") continue;
    const [section, key] = path.split(".");
    if (key === undefined) patch[section!] = command.getOptionValue(attribute);
    else ((patch[section!] ??= {}) as Record<string, unknown>)[key] = command.getOptionValue(attribute);
  }
  return patch as PipelineConfigInput;
}
