import { parentPort, workerData } from 'node:worker_threads';
import { predictRaw, type Ensemble } from './ensemble';
import type { PredictJob, PredictReply } from './predict-threads';

/** A prediction helper: scores each block of rows it is sent with the ensemble it was started with. */
const { ensemble, featureCount } = workerData as { ensemble: Ensemble; featureCount: number };
parentPort?.on('message', (job: PredictJob) => {
  let reply: PredictReply;
  try {
    const scores = predictRaw(ensemble, job.x, job.rows, featureCount);
    reply = { id: job.id, scores };
  } catch (error) {
    reply = { id: job.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply, 'scores' in reply ? [reply.scores.buffer as ArrayBuffer] : []);
});
