/**
 * Suite `viz`: Grad-CAM plus guided backprop (the top class of each sample), kiln-native
 * against PyTorch 1.13 doing the same with hooks (bench/anchors/torch_viz.py: a forward hook
 * keeps the Grad-CAM layer's output, full backward hooks on each nn.ReLU clamp its gradient),
 * at 1 and 2 threads. kiln computes both with viz.gradCamAndGuidedBackprop, which records one
 * forward and backpropagates it twice (to the layer, then with guided ReLUs to the input); the
 * anchor runs the two methods one after the other as Captum does (two forwards), noted on the rows. The target case (issue 15): ResNet-18 (torchvision's, 1000 classes, eval
 * mode) on one 224×224 image, Grad-CAM at `layer4`: kiln ≥ 1.5× PyTorch. The LeNet-5 rows
 * (28×28, second conv, batch 1 and 16) stay for the main job's model. All rows are the
 * median of three alternating passes. Then the t-SNE case (bench/tsne.ts) against
 * scikit-learn, whose rows carry the KL divergence.
 * KILN_BENCH_CASES narrows a run to the cases whose names contain one of its comma-separated
 * words (case-insensitive), e.g. `KILN_BENCH_CASES=resnet npm run bench -- viz`.
 */
import { getNumThreads, models, manualSeed, randn, setNumThreads, tidy, viz, withBackend, type nn } from '../lib/index.js';
import { medianOverPasses, runPythonAnchor, timeIt, type BenchRow } from './harness.js';
import { TSNE_CASE, tsneRows } from './tsne.js';

const SUITE = 'viz';
/** kiln's rows run gradCamAndGuidedBackprop: one forward, two backward passes. */
const SHARED_FORWARD = 'one shared forward (anchor: two, as Captum)';
const THREADS = [1, 2];

/** One Grad-CAM + guided backprop case; the anchor builds the same model from `model`. */
interface VizCase {
  model: 'lenet5' | 'resnet18';
  batch: number;
  /** Input height and width. */
  size: number;
  channels: number;
  /** Where Grad-CAM looks (the same module name in kiln and in PyTorch). */
  layer: string;
  name: string;
}

const CASES: VizCase[] = [
  ...[1, 16].map((batch) => ({ model: 'lenet5' as const, batch, size: 28, channels: 1, layer: '3', name: `Grad-CAM + guided backprop, LeNet-5 28×28, batch ${batch}` })),
  { model: 'resnet18', batch: 1, size: 224, channels: 3, layer: 'layer4', name: 'Grad-CAM (layer4) + guided backprop, ResNet-18 224×224, batch 1' },
];

const build = (spec: VizCase): nn.Module => (spec.model === 'lenet5' ? models.lenet5() : models.resnet18()).eval();

function kilnRows(cases: readonly VizCase[]): BenchRow[] {
  const rows: BenchRow[] = [];
  const saved = getNumThreads();
  withBackend('native', () => {
    for (const spec of cases) {
      manualSeed(0);
      const net = build(spec);
      const x = randn([spec.batch, spec.channels, spec.size, spec.size]);
      for (const threads of THREADS) {
        setNumThreads(threads);
        const ms = timeIt(() => tidy(() => void viz.gradCamAndGuidedBackprop(net, x, spec.layer)), { rounds: 5, minRoundMs: 100 });
        rows.push({ suite: SUITE, case: spec.name, impl: 'kiln-native', threads, median_ms: ms, note: SHARED_FORWARD });
      }
    }
  });
  setNumThreads(saved);
  return rows;
}

function anchorRows(cases: readonly VizCase[]): BenchRow[] {
  return THREADS.flatMap((threads) =>
    runPythonAnchor('torch_viz.py', [String(threads), JSON.stringify(cases)], { suite: SUITE, impl: 'pytorch', cases: cases.map((c) => c.name) }),
  );
}

/** True when the case is selected by KILN_BENCH_CASES (or no selection is made). */
function wanted(name: string): boolean {
  const words = (process.env.KILN_BENCH_CASES ?? '').split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
  return words.length === 0 || words.some((w) => name.toLowerCase().includes(w));
}

/**
 * Runs the suite: three alternating passes of kiln (native) and PyTorch, 1 and 2 threads, for
 * the selected Grad-CAM + guided backprop cases; then three alternating passes of the t-SNE case.
 */
export function runViz(): BenchRow[] {
  const cases = CASES.filter((c) => wanted(c.name));
  const rows = cases.length > 0 ? medianOverPasses(3, () => [...kilnRows(cases), ...anchorRows(cases)]) : [];
  return wanted(TSNE_CASE) ? [...rows, ...medianOverPasses(3, tsneRows)] : rows;
}
