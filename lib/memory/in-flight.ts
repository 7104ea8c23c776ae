/**
 * Ownership of tensors in flight (kiln.async, lib/backend/queue.ts). While a scope's queued
 * native kernels have not finished, every storage buffer they read or write is *in flight*:
 * owned by the queue until the scope's promise settles. This module keeps that state:
 *
 * - outside the recording scope, reading or writing an in-flight tensor (its `data` or
 *   `storage`) throws a TensorInFlightError naming the tensor and the queued kernel;
 * - inside the scope that queued it, ops may pass it to further kernels (the queue runs in
 *   order), but a read of its values in TypeScript (item(), toArray(), a reference kernel, a
 *   `data` read no kernel consumes) is an error: the values are not computed yet;
 * - tidy() does not return in-flight storage to the pool: the release waits for the landing.
 *
 * The hot paths check `inFlightCount` (0 unless a scope is in flight) before anything else.
 */
import { TensorInFlightError } from '../errors.js';

/** The scope a buffer is in flight for, the queued kernel that touched it (the writer, once one writes it), and whether one writes it. */
interface Flight {
  scope: number;
  op: string;
  written: boolean;
}

const flights = new Map<ArrayBufferLike, Flight>();
/** How many buffers are in flight (kiln-internal; tensor getters test it first). */
export let inFlightCount = 0;
/** The scope being recorded on this thread, 0 when none. */
let recording = 0;
let lastScope = 0;
/** Buffers of the recording scope whose `data` was read and no kernel has consumed since, with the reader's shape. */
const unconsumed = new Map<ArrayBufferLike, readonly number[]>();
/** Per scope, the releases tidy() deferred until the scope lands. */
const deferred = new Map<number, (() => void)[]>();

/** Starts recording a new scope; returns its id. */
export function beginFlightScope(): number {
  recording = ++lastScope;
  unconsumed.clear();
  return recording;
}

/** The error for the first buffer read in TypeScript and consumed by no kernel since, or null (forgets them). */
function unconsumedRead(where: string): TensorInFlightError | null {
  if (unconsumed.size === 0) return null;
  const [buffer, shape] = unconsumed.entries().next().value as [ArrayBufferLike, readonly number[]];
  unconsumed.clear();
  const op = flights.get(buffer)?.op ?? 'a queued kernel';
  return new TensorInFlightError(
    `${where}: tensor of shape [${shape.join(', ')}] was read in TypeScript inside a kiln.async scope, but its values come from the queued kernel ${op}, which has not run yet; read it after awaiting the scope (or compute it with ops that run kernels)`,
  );
}

/** Stops recording; returns the error for a buffer read in TypeScript and consumed by no kernel after the read, or null. */
export function endFlightRecording(): TensorInFlightError | null {
  recording = 0;
  return unconsumedRead('kiln.async');
}

/**
 * Throws when op `name` read an in-flight buffer's `data` that none of its kernels consumed:
 * it computed on values that are not there yet (kiln-internal; autograd's record() calls it at
 * the end of every op while something is in flight).
 */
export function checkOpReads(name: string): void {
  if (recording === 0 || unconsumed.size === 0) return;
  const error = unconsumedRead(name);
  if (error !== null) throw error;
}

/**
 * Marks `array`'s buffer in flight for the recording scope (kiln-internal: the recording
 * backend calls it for every array a queued kernel reads or, with `written`, writes).
 */
export function markInFlight(array: ArrayBufferView, op: string, written: boolean): void {
  const buffer = array.buffer;
  unconsumed.delete(buffer);
  const flight = flights.get(buffer);
  if (flight === undefined) {
    flights.set(buffer, { scope: recording, op, written });
    inFlightCount++;
  } else if (written && !flight.written) {
    flight.op = op;
    flight.written = true;
  }
}

/**
 * Ends scope `id`: its buffers are no longer in flight, and the releases deferred for them run.
 */
export function landFlightScope(id: number): void {
  for (const [buffer, flight] of flights) {
    if (flight.scope !== id) continue;
    flights.delete(buffer);
    inFlightCount--;
  }
  const releases = deferred.get(id);
  deferred.delete(id);
  releases?.forEach((release) => release());
}

/** Whether `buffer` is in flight (for any scope). */
export function isInFlight(buffer: ArrayBufferLike): boolean {
  return inFlightCount !== 0 && flights.has(buffer);
}

function inFlightError(shape: readonly number[], flight: Flight, what: string): TensorInFlightError {
  return new TensorInFlightError(
    `${what}: tensor of shape [${shape.join(', ')}] is in flight: the queued kernel ${flight.op} of a kiln.async scope reads or writes it until the scope's promise settles; await that promise before reading, writing or releasing this tensor`,
  );
}

/**
 * Checks a `data` or `storage` access (kiln-internal; Tensor calls it when inFlightCount is
 * not 0). Outside the buffer's own recording scope it throws; inside it, a `data` read is
 * remembered until a kernel consumes the buffer.
 */
export function checkAccess(buffer: ArrayBufferLike, shape: readonly number[], valueRead: boolean): void {
  const flight = flights.get(buffer);
  if (flight === undefined) return;
  if (flight.scope !== recording) throw inFlightError(shape, flight, 'kiln');
  if (valueRead && flight.written) unconsumed.set(buffer, shape);
}

/**
 * Throws when `reader` (item(), copyInto, …) may not use `buffer`'s values now: a queued
 * kernel writes it, or (outside its scope, or for a TypeScript write) any queued kernel uses it.
 */
export function checkValuesReady(buffer: ArrayBufferLike, shape: readonly number[], reader: string, writes = false): void {
  const flight = flights.get(buffer);
  if (flight === undefined) return;
  if (flight.written || writes || flight.scope !== recording) throw inFlightError(shape, flight, reader);
}

/**
 * Runs `release` now, or, when `buffer` is in flight, once its scope lands (tidy() calls it,
 * so a pool never hands out storage a queued kernel still uses).
 */
export function releaseWhenLanded(buffer: ArrayBufferLike, release: () => void): void {
  const flight = inFlightCount === 0 ? undefined : flights.get(buffer);
  if (flight === undefined) {
    release();
    return;
  }
  let list = deferred.get(flight.scope);
  if (list === undefined) {
    list = [];
    deferred.set(flight.scope, list);
  }
  list.push(release);
}
