// Plotly figures (plain JSON) and their inline display in tslab notebooks: the project's shared plotting.
export type { Figure, MetricRow } from "./figure.js";
export { lossCurvesFigure, metricCurveFigure, gradNormFigure, tokensPerSecondFigure, metricSeries, accuracyCurveFigure } from "./trainingCharts.js";
export { accuracyByProblemTypeFigure, rewardDistributionsFigure, rewardLabel, responseLengthsFigure, datasetLengthsFigure } from "./evalCharts.js";
export { initCharts, showFigure, showHtml, chartHtml, plotlyScriptHtml, scriptSafeJson, NotebookCharts, notebookCharts, type HtmlSink } from "./notebookHtml.js";
export { tableHtml, keyValueHtml, escapeHtml, roundNumber } from "./tableHtml.js";
export { keep } from "./notebookScope.js";
