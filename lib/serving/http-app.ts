import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { FieldProblem } from '../../contracts/errors';
import { InvalidRowsError } from './errors';
import type { LiveModel } from './live-model';
import type { PredictionLog, PredictionRecord } from './prediction-log';
import type { ServeMetrics } from './serve-metrics';

export interface HttpAppOptions {
  /** Larger request bodies get 413. */
  bodyLimitBytes: number;
  /** Larger batches get 400. */
  maxBatchRows: number;
  /** False while starting or draining: /readyz answers 503. */
  isReady: () => boolean;
}

/** The header (and body field `version`) naming the version that answered. */
export const VERSION_HEADER = 'trainyard-model-version';

/**
 * The HTTP surface of `trainyard serve`, on Fastify:
 * - POST /predict: one row (a JSON object) or a batch (an array of them) → `{ model, version, predictions }`,
 *   each prediction with its id. Bad rows → 400 with `problems` naming each field (`Island`, or
 *   `3.Island` in a batch); a body that is not JSON → 400; larger than the limit → 413.
 * - GET /healthz (the process answers), GET /readyz (a model is loaded and the server is not draining),
 *   GET /metrics (Prometheus text).
 * Every response names the model version that answered, in its body and the trainyard-model-version header.
 */
export function buildHttpApp(
  live: LiveModel,
  log: PredictionLog,
  metrics: ServeMetrics,
  options: HttpAppOptions,
): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimitBytes });

  // Every content type is read as JSON, by Fastify's own parser (which refuses __proto__ keys), so a body
  // that is not JSON is a 400 with our message, not a 415.
  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) =>
    parseJson(request, body as string, (error, value) => {
      if (!error) return done(null, value);
      const why = (body as string).length === 0 ? 'the body is empty' : 'the body is not JSON (or has a __proto__ key)';
      done(
        Object.assign(new Error(`${why}: send one row as a JSON object or a batch as an array`), { statusCode: 400 }),
        undefined,
      );
    }),
  );

  app.addHook('onSend', async (_request, reply) => {
    // /predict sets the version that scored it; any other response names the version serving now.
    if (!reply.hasHeader(VERSION_HEADER)) reply.header(VERSION_HEADER, String(live.current.version));
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.observe(request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : (error.statusCode ?? 500);
    const message =
      status === 413
        ? `the body is larger than the limit of ${options.bodyLimitBytes} bytes; send fewer rows per request`
        : error.message;
    return sendError(reply, status, status < 500 ? 'BadRequest' : 'InternalError', message, []);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'NotFound', `no route ${request.method} ${request.url.slice(0, 200)}`, []),
  );

  const sendError = (reply: FastifyReply, status: number, error: string, message: string, problems: FieldProblem[]) => {
    const { model, version } = live.current;
    return reply.code(status).send({ error, message, ...(problems.length > 0 ? { problems } : {}), model, version });
  };

  app.post('/predict', async (request, reply) => {
    const body = request.body;
    const single = body !== null && typeof body === 'object' && !Array.isArray(body);
    if (!single && !Array.isArray(body))
      return sendError(reply, 400, 'InvalidRows', 'expected one row (a JSON object) or a batch (an array of rows)', []);
    const rows = single ? [body] : (body as unknown[]);
    if (rows.length === 0 || rows.length > options.maxBatchRows) {
      return sendError(
        reply,
        400,
        'InvalidRows',
        `a batch holds 1 to ${options.maxBatchRows} rows, got ${rows.length}`,
        [],
      );
    }
    return live.use(async (model) => {
      let outputs;
      try {
        outputs = await model.predict(rows);
      } catch (error) {
        if (!(error instanceof InvalidRowsError)) throw error;
        const problems = single
          ? error.problems.map((p) => ({ ...p, path: p.path.replace(/^0\.?/, '') || '(row)' }))
          : error.problems;
        return reply.code(400).send({
          error: 'InvalidRows',
          message: 'rows do not fit the model',
          problems,
          model: model.model,
          version: model.version,
        });
      }
      const time = new Date().toISOString();
      const records: PredictionRecord[] = outputs.map((output, i) => ({
        id: randomUUID(),
        time,
        model: model.model,
        version: model.version,
        input: rows[i] as PredictionRecord['input'],
        output,
      }));
      log.append(records);
      metrics.predictions.inc({ model: model.model, version: String(model.version) }, records.length);
      reply.header(VERSION_HEADER, String(model.version));
      return {
        model: model.model,
        version: model.version,
        predictions: records.map((r) => ({ id: r.id, ...r.output })),
      };
    });
  });

  app.get('/healthz', async () => ({ status: 'ok', model: live.current.model, version: live.current.version }));
  app.get('/readyz', async (_request, reply) => {
    const ready = options.isReady();
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      model: live.current.model,
      version: live.current.version,
    });
  });
  app.get('/metrics', async (_request, reply) => {
    metrics.logRecords.set({ state: 'written' }, log.counts.written);
    metrics.logRecords.set({ state: 'buffered' }, log.buffered);
    metrics.logRecords.set({ state: 'dropped' }, log.counts.dropped);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return app;
}
