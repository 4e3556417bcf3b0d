import { countBy, textLengths, type CategoryKey, type TextField } from "./inspect.js";
import type { Figure } from "../viz/figure.js";
import type { DatasetSplit, MathExample } from "./types.js";

const LABELS: Record<CategoryKey, string> = { problemType: "problem type", questionType: "question type", source: "source" };

/** The character lengths of the chosen texts: one histogram per text, side by side, each on its own scale. */
export function lengthHistogramFigure(examples: readonly MathExample[], fields: TextField[] = ["problem", "solution", "reasoning"], bins = 30): Figure {
  const layout: Record<string, unknown> = {
    title: { text: `Text lengths (${examples.length} examples)` },
    showlegend: false,
    grid: { rows: 1, columns: fields.length, pattern: "independent", xgap: 0.1 },
  };
  fields.forEach((field, i) => {
    const n = i === 0 ? "" : String(i + 1);
    layout[`xaxis${n}`] = { title: { text: `${field} length (characters)` } };
    layout[`yaxis${n}`] = i === 0 ? { title: { text: "examples" } } : {};
  });
  return {
    data: fields.map((field, i) => ({ type: "histogram", name: field, x: textLengths(examples, field), nbinsx: bins, xaxis: `x${i === 0 ? "" : i + 1}`, yaxis: `y${i === 0 ? "" : i + 1}` })),
    layout,
  };
}

/** Bars of how many examples have each value of a category. */
export function categoryBarFigure(examples: readonly MathExample[], key: CategoryKey): Figure {
  const counts = countBy(examples, key);
  return {
    data: [{ type: "bar", x: counts.map((c) => c.value), y: counts.map((c) => c.count) }],
    layout: { title: { text: `Examples by ${LABELS[key]}` }, xaxis: { title: { text: LABELS[key] } }, yaxis: { title: { text: "examples" } } },
  };
}

/** Share of each category value in train and in validation, side by side (stratification shows as equal bars). */
export function splitCategoryFigure(split: DatasetSplit, key: CategoryKey): Figure {
  const values = countBy([...split.train, ...split.validation], key).map((c) => c.value);
  const share = (side: MathExample[]) => {
    const counts = new Map(countBy(side, key).map((c) => [c.value, c.count]));
    return values.map((v) => (side.length === 0 ? 0 : (counts.get(v) ?? 0) / side.length));
  };
  return {
    data: [
      { type: "bar", name: `train (${split.train.length})`, x: values, y: share(split.train) },
      { type: "bar", name: `validation (${split.validation.length})`, x: values, y: share(split.validation) },
    ],
    layout: {
      title: { text: `Share of each ${LABELS[key]} in train and validation` },
      barmode: "group",
      yaxis: { title: { text: "share of the split" }, tickformat: ".0%" },
    },
  };
}
