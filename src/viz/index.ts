// Plotly figures (plain JSON) and their inline display in tslab notebooks: the project's shared plotting.
export type { Figure, MetricRow } from "./figure.js";
export { lossCurvesFigure, metricCurveFigure, gradNormFigure, tokensPerSecondFigure, metricSeries, accuracyCurveFigure } from "./training-charts.js";
export { accuracyByProblemTypeFigure, rewardDistributionsFigure, rewardLabel, responseLengthsFigure, datasetLengthsFigure } from "./eval-charts.js";
export { initCharts, showFigure, showHtml, chartHtml, plotlyScriptHtml, scriptSafeJson, NotebookCharts, notebookCharts, type HtmlSink } from "./notebook-html.js";
export { tableHtml, keyValueHtml, escapeHtml, roundNumber } from "./table-html.js";
export { keep } from "./notebook-scope.js";
