// An SVG bar chart of requests/s: one panel per scenario, one bar per contender, a dashed
// line at node:cluster round-robin's figure so every bar reads as a ratio to it.
import { BASELINE } from './contenders/index.ts';
import type { ScenarioResult } from './summary.ts';

const WIDTH = 960;
const LABEL_WIDTH = 260;
const BAR_AREA = 520;
const BAR_HEIGHT = 16;
const BAR_GAP = 6;
const PANEL_TITLE = 34;
const PANEL_GAP = 18;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function color(contender: string, label: string): string {
  if (contender === BASELINE) return '#555';
  if (label.includes('(default)')) return '#1f5fbf';
  if (contender.startsWith('clusterize-')) return '#6f9fe0';
  return '#aaa';
}

export function renderChart(results: readonly ScenarioResult[], title: string): string {
  const parts: string[] = [];
  let y = 50;
  for (const result of results) {
    const baseline = result.rows.find((row) => row.contender === BASELINE)?.requestsPerSecond ?? NaN;
    const max = Math.max(...result.rows.map((row) => (Number.isFinite(row.requestsPerSecond) ? row.requestsPerSecond : 0)), 1);
    parts.push(`<text x="10" y="${y + 20}" font-weight="bold">${escape(result.label)}</text>`);
    const top = y + PANEL_TITLE;
    result.rows.forEach((row, i) => {
      const barY = top + i * (BAR_HEIGHT + BAR_GAP);
      const rps = Number.isFinite(row.requestsPerSecond) ? row.requestsPerSecond : 0;
      const width = (rps / max) * BAR_AREA;
      const ratio = Number.isFinite(row.vsBaseline.requestsPerSecond) ? `  ${row.vsBaseline.requestsPerSecond.toFixed(2)}x` : '';
      const value = rps === 0 ? 'no result' : `${Math.round(rps).toLocaleString('en-US')} req/s${ratio}`;
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${barY + 12}" text-anchor="end">${escape(row.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${barY}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${color(row.contender, row.label)}"/>`,
        `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${barY + 12}">${value}</text>`,
      );
    });
    const bottom = top + result.rows.length * (BAR_HEIGHT + BAR_GAP);
    if (Number.isFinite(baseline)) {
      const x = (LABEL_WIDTH + (baseline / max) * BAR_AREA).toFixed(1);
      parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${bottom - BAR_GAP + 4}" stroke="#c00" stroke-dasharray="4 3"/>`);
    }
    y = bottom + PANEL_GAP;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
    '<text x="10" y="40" fill="#444">grey: Node.js alone · dark grey and dashed line: node:cluster round-robin · blue: clusterize · dark blue: its default policy</text>',
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
