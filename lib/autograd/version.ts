/**
 * Version counters: one per storage (keyed by its ArrayBuffer, so every view and every
 * tensor wrapping the same storage shares it), bumped by each in-place write. Autograd
 * remembers the versions of the tensors an op saved for backward and refuses to run a
 * backward whose saved tensors were modified since, as PyTorch does.
 *
 * Until the first in-place write of the process every version is 0, and record() stores no
 * versions at all (the small-op path pays one comparison).
 */

const versions = new WeakMap<ArrayBufferLike, number>();
let writes = 0;

/** The version of the storage whose buffer this is (0 until an in-place op writes to it). */
export function versionOf(buffer: ArrayBufferLike): number {
  return writes === 0 ? 0 : (versions.get(buffer) ?? 0);
}

/** Counts one in-place write to the storage whose buffer this is. */
export function bumpVersion(buffer: ArrayBufferLike): void {
  writes++;
  versions.set(buffer, (versions.get(buffer) ?? 0) + 1);
}

/** True once any in-place op has run in this process (before that, every version is 0). */
export function anyInPlaceWrites(): boolean {
  return writes > 0;
}
