/**
 * The tfjs anchor of bench serve: @tensorflow/tfjs (its pure-JS cpu backend) is a scratch
 * dependency of this bench only, never of kiln. With KILN_BENCH_TFJS=1 the suite installs it
 * (npm, scripts off) into a scratch directory, KILN_BENCH_TFJS_DIR or <tmpdir>/kiln-bench-tfjs,
 * unless it is already there, and runs bench/anchors/tfjs-serve.cjs with that directory on
 * NODE_PATH; otherwise the anchor's row is skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The tfjs release the anchor installs. */
export const TFJS_VERSION = '4.22.0';

/** The NODE_PATH under which @tensorflow/tfjs resolves, or why the anchor is skipped. */
export function tfjsNodePath(): { nodePath: string } | { skipped: string } {
  const dir = process.env.KILN_BENCH_TFJS_DIR ?? join(tmpdir(), 'kiln-bench-tfjs');
  const nodePath = join(dir, 'node_modules');
  if (process.env.KILN_BENCH_TFJS !== '1') return { skipped: `set KILN_BENCH_TFJS=1 to install @tensorflow/tfjs@${TFJS_VERSION} into a scratch directory (${dir}) and run this anchor` };
  if (existsSync(join(nodePath, '@tensorflow', 'tfjs', 'package.json'))) return { nodePath };
  mkdirSync(dir, { recursive: true });
  console.error(`bench serve: installing @tensorflow/tfjs@${TFJS_VERSION} into ${dir} (scratch, for the tfjs anchor only)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `@tensorflow/tfjs@${TFJS_VERSION}`], { encoding: 'utf8' });
  if (result.status !== 0) return { skipped: `npm could not install @tensorflow/tfjs@${TFJS_VERSION} into ${dir}: ${(result.stderr || result.stdout || String(result.error)).trim().split('\n').pop()}` };
  return { nodePath };
}
