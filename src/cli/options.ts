import { InvalidArgumentError, type Option } from "commander";
import { pipelineConfigSchema } from "../pipeline/config.js";
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
