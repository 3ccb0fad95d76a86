export { trainingPipeline } from './training-pipeline';
export type { PipelineResult } from './training-pipeline';
export { driftMonitor } from './drift-monitor';
export type { DriftMonitorCarry, DriftMonitorResult } from './drift-monitor';
export { batchPredict } from './batch-predict';
