import { createHash } from "node:crypto";

/** The de-duplication key of a problem: Unicode NFKC, lower case, whitespace collapsed. */
export function normalizeProblem(problem: string): string {
  return problem.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
