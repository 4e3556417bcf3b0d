export * from "./types.js";
export { readRun, readTable, readHistory, latestRunDir, isTableRef, mergeHistoryLines, type RunData, type HistoryRow } from "./read-run.js";
export { createTracker, resolveTrackingMode, newRunId, runUrl, DEFAULT_PROJECT, DEFAULT_BASE_URL, type TrackerOptions } from "./tracker.js";
export { syncRun, type SyncOptions, type SyncResult } from "./sync.js";
export { WandbClient, WandbRequestError, toWandbConfig, type WandbClientSettings, type RemoteRunRef, type FileStreamPayload } from "./wandb-client.js";
export {
  WandbCallback,
  rewriteLogs,
  trainingArgsConfig,
  evaluationTable,
  EVAL_SAMPLE_COLUMNS,
  type RunDescription,
} from "./wandb-callback.js";
export {
  formatRunReport,
  latestTable,
  tableColumn,
  summaryGroup,
  rewardColumns,
  reportCard,
  formatReportCard,
  reportCardHtml,
  configSummary,
  readableSamples,
  runState,
  accuracyAtCheckpoints,
  formatDuration,
  displayPath,
  type ReportCard,
  type RunState,
} from "./report.js";
export { fromEvalResult, type EvalResultLike } from "./eval-result.js";
export { openTrainingRun, type TrainingRun } from "./training-run.js";
