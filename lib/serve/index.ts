/**
 * kiln.serve: models behind promises for servers. `predictor` runs a model on worker threads
 * with dynamic batching, so an HTTP handler can `await predictor.predict(x)` without ever
 * blocking the event loop on a forward pass.
 *
 * Example:
 * ```ts
 * import { serve } from 'kiln';
 * const predictor = serve.predictor(model, { module: './lenet.js', workers: 2, maxBatch: 64, maxDelayMs: 2 });
 * const logits = await predictor.predict(image);
 * ```
 */
export { predictor, Predictor, type PredictorOptions, type PredictorStats } from './predictor.js';
export { PredictorError } from './errors.js';
export { dashboard, Dashboard, type DashboardOptions, type DashboardState } from './dashboard.js';
