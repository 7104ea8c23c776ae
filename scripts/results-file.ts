/**
 * The figures files of the long-running scripts (bench/results/fuzz.json, soak.json): one JSON
 * object per file, each run merging its part in, written atomically so a killed run never
 * leaves half a file.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { writeFileAtomic } from '../lib/io/index.js';

/**
 * Merges `update` into the JSON object stored at `path` (its top-level keys replace the file's),
 * creating the file and its directory when missing; written with io.writeFileAtomic.
 *
 * Example: `mergeResultsFile('bench/results/fuzz.json', { public: { calls: 1000 } })`.
 */
export function mergeResultsFile(path: string, update: Record<string, unknown>): void {
  const previous = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, new TextEncoder().encode(JSON.stringify({ ...previous, ...update }, null, 2) + '\n'));
}
