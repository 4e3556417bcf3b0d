import { existsSync, readFileSync } from "node:fs";

/**
 * A JSON file's value, or an error that names the file and what it should have held: `${file}: not found (what)`,
 * `${file}: not valid JSON (…)`, `${file}: cannot read it (…)`.
 */
export function readJsonFile<T>(file: string, what: string): T {
  if (!existsSync(file)) throw new Error(`${file}: not found (${what})`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read it (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}
