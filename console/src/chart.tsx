// A rate over time against its warn and suspend lines, drawn as SVG (no chart library: one
// line and two thresholds), with the figures as a table for screen readers.
import type { RatePoint, Thresholds } from './api';
import { percent, when } from './api';

const W = 640;
const H = 180;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

export function RateChart({ title, points, rate, thresholds }: { title: string; points: RatePoint[]; rate: 'complaintRate' | 'hardBounceRate'; thresholds: Thresholds }) {
  const values = points.map((p) => p[rate]);
  const top = Math.max(thresholds.suspend * 1.25, ...values.map((v) => v ?? 0));
  const x = (i: number) => PAD.left + (i / Math.max(1, points.length - 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / top) * (H - PAD.top - PAD.bottom);
  let path = '';
  values.forEach((v, i) => {
    if (v === null) return;
    path += `${path === '' || values[i - 1] === null ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  });
  const last = values.at(-1) ?? null;
  const summary = `${title}: now ${percent(last)}; warn at ${percent(thresholds.warn)}, suspend at ${percent(thresholds.suspend)}`;
  return (
    <figure class="chart">
      <figcaption>{summary}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        <rect x={PAD.left} y={PAD.top} width={W - PAD.left - PAD.right} height={H - PAD.top - PAD.bottom} class="plot" />
        {[thresholds.warn, thresholds.suspend].map((t, i) => (
          <g key={i}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} class={i === 0 ? 'warn' : 'suspend'} />
            <text x={PAD.left - 4} y={y(t) + 4} text-anchor="end" class="axis">
              {percent(t)}
            </text>
          </g>
        ))}
        <text x={PAD.left - 4} y={y(0) + 4} text-anchor="end" class="axis">
          0
        </text>
        {points.length > 0 && (
          <>
            <text x={PAD.left} y={H - 8} class="axis">
              {when(points[0]!.at).slice(0, 10)}
            </text>
            <text x={W - PAD.right} y={H - 8} text-anchor="end" class="axis">
              {when(points.at(-1)!.at).slice(0, 16)}
            </text>
          </>
        )}
        <path d={path} class="line" />
        {values.map((v, i) => (v === null ? null : <circle key={i} cx={x(i)} cy={y(v)} r={3} class={v >= thresholds.suspend ? 'dot over' : v >= thresholds.warn ? 'dot near' : 'dot'} />))}
      </svg>
      <details>
        <summary>Figures</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">24 h ending</th>
              <th scope="col">deliveries</th>
              <th scope="col">{rate === 'complaintRate' ? 'complaints' : 'hard bounces'}</th>
              <th scope="col">rate</th>
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.at}>
                <td>{when(p.at)}</td>
                <td>{p.delivered}</td>
                <td>{rate === 'complaintRate' ? p.complaints : p.hardBounces}</td>
                <td>{percent(p[rate])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
