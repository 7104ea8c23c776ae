/** The messages between a Predictor and its worker threads (kiln-internal). */

/** What a Predictor passes to each worker as workerData. */
export interface PredictorWorkerData {
  /** The model module's URL (file: URL string) and the export that builds the model. */
  moduleUrl: string;
  exportName: string;
  config: unknown;
  /** The weights, as safetensors bytes. */
  weights: Uint8Array;
  numThreads: number | null;
}

/** A batch of inputs: `shape` = (batch, ...sample shape), data row-major float32. */
export interface BatchData {
  shape: number[];
  data: Float32Array;
}

/** Main thread → worker. */
export type PredictorCommand = { type: 'batch'; id: number; batch: BatchData } | { type: 'weights'; id: number; weights: Uint8Array };

/** Worker → main thread. */
export type PredictorReply =
  | { type: 'ready' }
  /** The batch's output, and its input buffer handed back (both transferred) for the next batch to reuse. */
  | { type: 'output'; id: number; output: BatchData; input: Float32Array }
  | { type: 'weights-loaded'; id: number }
  | { type: 'error'; id: number | null; name: string; message: string; stack: string };
