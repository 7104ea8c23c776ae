/**
 * The dashboard's page (lib/serve/dashboard.ts): one self-contained HTML file, no external
 * scripts, styles or fonts. It reads the server-sent events at /events and draws the running
 * loss (SVG), the epochs' validation loss and accuracy, throughput and the confusion matrix;
 * Pause/Resume and Stop POST to the server.
 */

const STYLE = `
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 8px; }
.bar { display: flex; gap: 16px; align-items: center; margin-bottom: 16px; }
#state { font-weight: 600; }
button { font-size: 14px; padding: 6px 16px; }
.charts { display: flex; gap: 24px; flex-wrap: wrap; }
svg { border: 1px solid #ccc; background: #fff; }
.axis { stroke: #999; }
.label { font-size: 11px; fill: #555; }
#confusion { border-collapse: collapse; margin-top: 8px; }
#confusion td, #confusion th { border: 1px solid #ddd; padding: 3px 6px; text-align: right; font-size: 12px; }
`;

const SCRIPT = `
const W = 480, H = 260, PAD = 36;
const run = { points: [], epochs: [], classNames: [], state: 'running' };
const $ = (id) => document.getElementById(id);
const svgNs = 'http://www.w3.org/2000/svg';

function el(name, attrs, parent) {
  const node = document.createElementNS(svgNs, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  parent.appendChild(node);
  return node;
}

function drawChart(svg, series, yLabel) {
  svg.replaceChildren();
  const all = series.flatMap((s) => s.points);
  svg.dataset.points = String(series[0].points.length);
  if (all.length === 0) return;
  const xMax = Math.max(1, ...all.map((p) => p.x));
  const ys = all.map((p) => p.y);
  const yMin = Math.min(...ys), yMax = Math.max(...ys) === yMin ? yMin + 1 : Math.max(...ys);
  const sx = (x) => PAD + (x / xMax) * (W - 2 * PAD);
  const sy = (y) => H - PAD - ((y - yMin) / (yMax - yMin)) * (H - 2 * PAD);
  el('line', { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: 'axis' }, svg);
  el('line', { x1: PAD, y1: PAD, x2: PAD, y2: H - PAD, class: 'axis' }, svg);
  el('text', { x: PAD, y: PAD - 8, class: 'label' }, svg).textContent = yLabel + ' (' + yMin.toFixed(3) + ' to ' + yMax.toFixed(3) + ')';
  el('text', { x: W - PAD, y: H - 10, class: 'label', 'text-anchor': 'end' }, svg).textContent = 'epoch ' + xMax.toFixed(1);
  for (const s of series) {
    if (s.points.length > 1) el('polyline', { points: s.points.map((p) => sx(p.x) + ',' + sy(p.y)).join(' '), fill: 'none', stroke: s.color, 'stroke-width': 1.5 }, svg);
    for (const p of s.dots ? s.points : []) el('circle', { cx: sx(p.x), cy: sy(p.y), r: 3, fill: s.color }, svg);
  }
}

function drawCurves() {
  const epochX = (r, i) => i + 1;
  drawChart($('loss-curve'), [
    { points: run.points.map((p) => ({ x: p.x, y: p.loss })), color: '#1f77b4' },
    { points: run.epochs.filter((r) => r.val_loss !== undefined).map((r, i) => ({ x: epochX(r, i), y: r.val_loss })), color: '#d62728', dots: true },
  ], 'loss (blue: training, running mean; red: validation)');
  drawChart($('accuracy-curve'), [
    { points: run.epochs.filter((r) => r.val_accuracy !== undefined).map((r, i) => ({ x: epochX(r, i), y: r.val_accuracy })), color: '#d62728', dots: true },
    { points: run.epochs.filter((r) => r.train_accuracy !== undefined).map((r, i) => ({ x: epochX(r, i), y: r.train_accuracy })), color: '#1f77b4', dots: true },
  ], 'accuracy (red: validation, blue: training)');
}

function drawConfusion(matrix) {
  const table = $('confusion');
  table.replaceChildren();
  if (!matrix) return;
  const max = Math.max(1, ...matrix.flat());
  const head = table.insertRow();
  head.insertCell().textContent = 'true \\\\ predicted';
  run.classNames.forEach((name) => { const th = document.createElement('th'); th.textContent = name; head.appendChild(th); });
  matrix.forEach((row, t) => {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.textContent = run.classNames[t];
    tr.appendChild(th);
    row.forEach((count) => {
      const cell = tr.insertCell();
      cell.textContent = count;
      cell.style.background = 'rgba(31, 119, 180, ' + (count / max).toFixed(3) + ')';
    });
  });
}

function showState(state, message) {
  run.state = state;
  $('state').textContent = state + (message ? ': ' + message : '');
  $('pause').textContent = state === 'paused' ? 'Resume' : 'Pause';
  const live = state === 'running' || state === 'paused';
  $('pause').disabled = !live;
  $('stop').disabled = !live;
}

function showThroughput(samplesPerSecond) {
  if (samplesPerSecond) $('throughput').textContent = Math.round(samplesPerSecond) + ' samples/s';
}

const events = new EventSource('/events');
events.addEventListener('snapshot', (e) => {
  const s = JSON.parse(e.data);
  Object.assign(run, { points: s.points, epochs: s.epochs, classNames: s.classNames });
  document.title = s.title;
  $('title').textContent = s.title;
  showState(s.state, s.message);
  showThroughput(s.samplesPerSecond);
  drawCurves();
  drawConfusion(s.confusion);
});
events.addEventListener('batch', (e) => {
  const b = JSON.parse(e.data);
  run.points.push(b.point);
  showThroughput(b.samplesPerSecond);
  drawCurves();
});
events.addEventListener('epoch', (e) => {
  const m = JSON.parse(e.data);
  run.epochs.push(m.record);
  drawCurves();
  drawConfusion(m.confusion);
});
events.addEventListener('state', (e) => {
  const s = JSON.parse(e.data);
  showState(s.state, s.message);
});
events.onerror = () => { if (run.state !== 'running' && run.state !== 'paused') events.close(); };

$('pause').onclick = () => fetch(run.state === 'paused' ? '/resume' : '/pause', { method: 'POST' });
$('stop').onclick = () => fetch('/stop', { method: 'POST' });
`;

/** The dashboard page's HTML. */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>kiln training</title><style>${STYLE}</style></head>
<body>
<h1 id="title">kiln training</h1>
<div class="bar"><span id="state">connecting</span><span id="throughput"></span>
<button id="pause" disabled>Pause</button><button id="stop" disabled>Stop</button></div>
<div class="charts">
<svg id="loss-curve" width="480" height="260" data-points="0"></svg>
<svg id="accuracy-curve" width="480" height="260" data-points="0"></svg>
</div>
<h2>Confusion matrix (validation, last epoch)</h2>
<table id="confusion"></table>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
