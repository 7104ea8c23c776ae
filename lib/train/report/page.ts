/**
 * The pieces of a self-contained HTML page: escaped text, tables, inline PNG images (data
 * URIs), inline SVG and a JSON data block. Nothing on the page is fetched: it opens offline.
 */
import { encodePng } from '../../data/png.js';
import type { Tensor } from '../../tensor.js';

/** Text made safe inside an HTML element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A (C, H, W) image in [0, 1] as an <img> whose source is the PNG itself; `width` in CSS pixels. */
export function imageTag(image: Tensor, alt: string, width: number): string {
  const src = `data:image/png;base64,${encodePng(image).toString('base64')}`;
  return `<img src="${src}" alt="${escapeHtml(alt)}" width="${width}" class="picture">`;
}

/** A <figure> of a picture with a caption. */
export function figure(picture: string, caption: string): string {
  return `<figure>${picture}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** A <section> with an id, a heading and its body. */
export function section(id: string, heading: string, body: string): string {
  return `<section id="${id}">\n<h2>${escapeHtml(heading)}</h2>\n${body}\n</section>`;
}

/** A table: header cells, then rows of cells (already escaped / formatted text). */
export function table(className: string, header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${className}">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** An SVG document (from kiln.plot) ready to sit inside the page's HTML. */
export function inlineSvg(svg: string): string {
  return `<div class="chart">${svg.replace(/^\s*<\?xml[^>]*>\s*/, '')}</div>`;
}

/** Data for scripts and tests, in a non-executed JSON block (`<` escaped so it cannot close the element). */
export function jsonBlock(id: string, value: unknown): string {
  return `<script type="application/json" id="${id}">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`;
}

const STYLE = `
body { font-family: system-ui, 'DejaVu Sans', Arial, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
.meta { color: #555; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
.picture { image-rendering: pixelated; border: 1px solid #ccc; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.8em; }
figure { margin: 0; text-align: center; } figcaption { font-size: 0.85em; color: #444; max-width: 160px; }
.chart svg { max-width: 100%; height: auto; }
.note { color: #777; font-style: italic; }
`;

/** The whole document: a title, the sections in order, and the JSON data block. */
export function htmlDocument(title: string, meta: string, sections: readonly string[], data: unknown): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${meta}</p>`,
    ...sections,
    jsonBlock('report-data', data),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
