/** A plotly figure as plotly.js takes it (`Plotly.newPlot(div, data, layout)`): plain JSON. */
export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

/** Rows of a run's history (or anything shaped like it): a step and some named values. */
export type MetricRow = Record<string, unknown>;

export const title = (text: string) => ({ text });
export const axis = (text: string, extra: Record<string, unknown> = {}) => ({ title: { text }, ...extra });
