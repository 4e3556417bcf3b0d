/**
 * Math-Verify's `verify(parse(gold), parse(pred))`: the parsed values are compared with the CAS
 * rules, the fallback texts by plain equality; any agreeing pair makes the answer correct.
 */
import { DEFAULT_COMPARE, valuesEqual, type CompareOptions } from "./compare.js";
import { extractAnswer, type MatchType, type ParsedAnswer } from "./extract.js";

export interface VerifyOptions extends CompareOptions {
  /** Extraction targets applied to BOTH gold and prediction. */
  matchTypes: MatchType[];
  /** Priority of `\boxed{}` matches (50 as in Math-Verify's `parse`). */
  boxedPriority: number;
}

export const DEFAULT_VERIFY: VerifyOptions = { ...DEFAULT_COMPARE, matchTypes: ["latex", "expr"], boxedPriority: 50 };

/** The comparison options of one fixture-style record (`match_types`, `precision`, `strict`, `allow_set_relation_comp`). */
export interface ScoreRecordOptions {
  match_types?: MatchType[];
  precision?: number;
  strict?: boolean;
  allow_set_relation_comp?: boolean;
}

/** Maps the snake_case record fields (defaults: both match types, 6 digits, strict, no set/relation) to options. */
export function recordOptions(r: ScoreRecordOptions): Partial<VerifyOptions> {
  return {
    matchTypes: r.match_types ?? ["latex", "expr"],
    precision: r.precision ?? 6,
    strict: r.strict ?? true,
    allowSetRelationComp: r.allow_set_relation_comp ?? false,
    // Math-Verify's comparison harness builds LatexExtractionConfig(boxed_match_priority=0).
    boxedPriority: 0,
  };
}

export function verifyParsed(gold: ParsedAnswer, pred: ParsedAnswer, options: Partial<CompareOptions> = {}): boolean {
  const o = { ...DEFAULT_COMPARE, ...options };
  if (gold.value && pred.value) {
    try {
      if (valuesEqual(gold.value, pred.value, o)) return true;
    } catch {
      // a CAS failure on one pair is a mismatch, as in Math-Verify
    }
  }
  const g = gold.text?.trim() ?? "";
  const p = pred.text?.trim() ?? "";
  return g.length > 0 && g === p;
}

export interface CheckResult {
  correct: boolean;
  gold: ParsedAnswer;
  pred: ParsedAnswer;
}

/** Extracts both sides with the same targets, then verifies (synchronous; see checker.ts for a time limit). */
export function checkAnswer(gold: string, pred: string, options: Partial<VerifyOptions> = {}): CheckResult {
  const o = { ...DEFAULT_VERIFY, ...options };
  const ex = { matchTypes: o.matchTypes, boxedPriority: o.boxedPriority };
  const g = extractAnswer(gold, ex);
  const p = extractAnswer(pred, ex);
  return { correct: verifyParsed(g, p, o), gold: g, pred: p };
}
