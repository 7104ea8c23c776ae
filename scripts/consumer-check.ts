/**
 * Installs kiln as another project would and checks that it works as a dependency (run by
 * .ci/run; `node dist/scripts/consumer-check.js`). Steps:
 * 1. `npm pack`: its prepack step compiles the TypeScript and the prebuilt addon
 *    (prebuildify). The tarball must hold prebuilds/linux-x64/*.node and no tests, source
 *    maps or data subset, in at most 3 MB.
 * 2. A fresh project installs the tarball with `--ignore-scripts` (no compile step can run):
 *    kiln must load the prebuild, train a step on the native backend and match the
 *    reference backend's result.
 * 3. A second project whose kiln has no prebuild that fits: kiln must fall back to the
 *    reference backend with a warning whose advice (`npm rebuild kiln`) works, which the
 *    check then follows and verifies.
 * Prints one line per check (and the install + first-step time, as a figure, not a check)
 * and exits 1 on the first failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAX_TARBALL_BYTES = 3 * 1024 * 1024;

/** Trains one SGD step of a 4-8-3 MLP from a fixed seed on the given backend and prints the result as JSON. */
const PROBE = `
import * as kiln from 'kiln';
const backend = process.argv[2];
if (backend !== 'default') kiln.setBackend(backend);
kiln.manualSeed(0);
const model = new kiln.nn.Sequential(new kiln.nn.Linear(4, 8), new kiln.nn.ReLU(), new kiln.nn.Linear(8, 3));
const opt = new kiln.optim.SGD(model.parameters(), { lr: 0.1 });
const x = kiln.randn([16, 4]);
const y = kiln.randint(0, 3, [16]);
const loss = kiln.F.crossEntropy(model.forward(x), y);
loss.backward();
opt.step();
const after = kiln.F.crossEntropy(model.forward(x), y).item();
console.log(JSON.stringify({ info: kiln.backendInfo(), loss: loss.item(), after }));
`;

interface ProbeResult {
  info: { backend: string; addonSource: string | null; isa: string | null; addonPath: string | null };
  loss: number;
  after: number;
}

function check(condition: boolean, what: string, detail = ''): void {
  if (!condition) {
    console.error(`consumer-check: FAIL ${what}${detail ? `\n${detail}` : ''}`);
    process.exit(1);
  }
  console.log(`consumer-check: ok   ${what}`);
}

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
}

function packTarball(into: string): string {
  npm(['pack', '--pack-destination', into], ROOT);
  const name = readdirSync(into).find((f) => f.endsWith('.tgz'));
  if (name === undefined) throw new Error(`npm pack wrote no .tgz into ${into}`);
  return join(into, name);
}

function checkTarball(tarball: string): void {
  const bytes = statSync(tarball).size;
  check(bytes <= MAX_TARBALL_BYTES, `tarball is ${(bytes / 1024 / 1024).toFixed(2)} MB (≤ 3 MB)`);
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
  check(files.some((f) => /^package\/prebuilds\/linux-x64\/.+\.node$/.test(f)), 'tarball holds prebuilds/linux-x64/*.node', files.filter((f) => f.includes('prebuilds')).join('\n'));
  const unwanted = files.filter((f) => f.endsWith('.map') || f.startsWith('package/native/tests/') || f.startsWith('package/tests/') || f.startsWith('package/data/'));
  check(unwanted.length === 0, 'tarball holds no tests, source maps or data subset', unwanted.slice(0, 10).join('\n'));
}

function makeConsumer(parent: string, name: string, tarball: string): { dir: string; ms: number } {
  const dir = join(parent, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }));
  writeFileSync(join(dir, 'probe.mjs'), PROBE);
  const start = performance.now();
  npm(['install', tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], dir);
  return { dir, ms: performance.now() - start };
}

function probe(dir: string, backend: string): { result: ProbeResult | null; stderr: string; ms: number } {
  const start = performance.now();
  const env = { ...process.env };
  delete env.KILN_BACKEND;
  const run = spawnSync(process.execPath, ['probe.mjs', backend], { cwd: dir, encoding: 'utf8', env });
  const ms = performance.now() - start;
  if (run.status !== 0) return { result: null, stderr: run.stderr, ms };
  return { result: JSON.parse(run.stdout.trim().split('\n').at(-1)!) as ProbeResult, stderr: run.stderr, ms };
}

function sameStep(a: ProbeResult, b: ProbeResult): boolean {
  return Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(b.loss) && Math.abs(a.after - b.after) <= 1e-4 * Math.abs(b.after);
}

function main(): void {
  const work = mkdtempSync(join(tmpdir(), 'kiln-consumer-'));
  try {
    const tarball = packTarball(work);
    checkTarball(tarball);

    const withPrebuild = makeConsumer(work, 'with-prebuild', tarball);
    const native = probe(withPrebuild.dir, 'default');
    check(native.result !== null, 'kiln loads in a project that installed it with --ignore-scripts', native.stderr);
    const info = native.result!.info;
    check(info.backend === 'native' && info.addonSource === 'prebuild', `the native backend loads from the prebuild (${info.isa}, ${info.addonPath})`, JSON.stringify(info));
    check(!native.stderr.includes('KILN_NO_NATIVE') && !native.stderr.includes('could not be loaded'), 'no fallback warning');
    // A figure to read (issue target: ≤ 10 s on a quiet machine), not a timed pass/fail.
    console.log(`consumer-check: time install ${withPrebuild.ms.toFixed(0)} ms + first training step ${native.ms.toFixed(0)} ms`);
    const reference = probe(withPrebuild.dir, 'reference');
    check(reference.result !== null && sameStep(native.result!, reference.result), `a training step matches the reference backend (loss ${native.result!.loss} vs ${reference.result?.loss})`);

    const withoutPrebuild = makeConsumer(work, 'without-prebuild', tarball);
    rmSync(join(withoutPrebuild.dir, 'node_modules', 'kiln', 'prebuilds'), { recursive: true, force: true });
    const fallback = probe(withoutPrebuild.dir, 'default');
    check(fallback.result?.info.backend === 'reference', 'without a fitting prebuild kiln falls back to the reference backend', fallback.stderr);
    check(fallback.stderr.includes("'npm rebuild kiln'"), 'the fallback warning says to run npm rebuild kiln', fallback.stderr);
    npm(['rebuild', 'kiln'], withoutPrebuild.dir);
    const rebuilt = probe(withoutPrebuild.dir, 'default');
    check(rebuilt.result?.info.backend === 'native' && rebuilt.result.info.addonSource === 'local build', 'after npm rebuild kiln the native backend loads from the local build', rebuilt.stderr);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
