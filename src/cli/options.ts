import { InvalidArgumentError } from "commander";
import { BACKEND_PREFERENCES } from "../backend-names.js";

/** Option parsers shared by the commands: each names the option in its error. */
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

/** --backend: auto, tensorflow, webgpu, wasm or cpu. */
export const backendOption = ["--backend <name>", BACKEND_PREFERENCES.join(", "), oneOf("--backend", BACKEND_PREFERENCES)] as const;
