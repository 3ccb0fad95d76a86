export { trainingPipeline } from './training-pipeline';
export type { PipelineResult } from './training-pipeline';
