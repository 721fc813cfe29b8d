// A small SVG line chart: a fixed window of the last N samples of one or
// more series, redrawn on every push.

const NS = 'http://www.w3.org/2000/svg';
const W = 600, H = 160, PAD_L = 44, PAD_B = 18, PAD_T = 8;

function el(tag, attrs = {}) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function fmt(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (v >= 1e3) return (v / 1e3).toFixed(1) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

// LineChart draws series [{name, cls}] into a figure element; push adds one
// sample per series. The figure's data-max attribute is the largest value in
// the window, data-samples the number of samples, and each legend value's
// data-value the latest sample (tests read them).
export class LineChart {
  constructor(title, series, { points = 60, testid = '' } = {}) {
    this.series = series.map((s) => ({ ...s, values: [] }));
    this.points = points;
    this.root = document.createElement('figure');
    this.root.className = 'chart';
    if (testid) this.root.dataset.testid = testid;
    const cap = document.createElement('figcaption');
    const t = document.createElement('span');
    t.textContent = title;
    cap.append(t);
    this.legend = {};
    for (const s of this.series) {
      const item = document.createElement('span');
      item.className = 'legend ' + s.cls;
      const v = document.createElement('b');
      v.dataset.testid = (testid ? testid + '-' : '') + s.name.replace(/\W+/g, '-').toLowerCase();
      v.textContent = '–';
      item.append(s.name + ' ', v);
      this.legend[s.name] = v;
      cap.append(item);
    }
    this.svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
    this.root.append(cap, this.svg);
    this.root.dataset.max = '0';
    this.root.dataset.samples = '0';
    this.draw();
  }

  push(...values) {
    this.series.forEach((s, i) => {
      s.values.push(values[i] ?? 0);
      if (s.values.length > this.points) s.values.shift();
      this.legend[s.name].textContent = fmt(values[i] ?? 0);
      this.legend[s.name].dataset.value = String(values[i] ?? 0);
    });
    this.draw();
  }

  draw() {
    const svg = this.svg;
    svg.replaceChildren();
    let max = 0;
    for (const s of this.series) for (const v of s.values) max = Math.max(max, v);
    this.root.dataset.max = String(max);
    this.root.dataset.samples = String(this.series[0]?.values.length ?? 0);
    const top = max > 0 ? max * 1.15 : 1;
    const plotW = W - PAD_L - 4, plotH = H - PAD_B - PAD_T;
    for (let i = 0; i <= 4; i++) {
      const y = PAD_T + plotH - (plotH * i) / 4;
      svg.append(el('line', { x1: PAD_L, x2: W - 4, y1: y, y2: y, class: 'grid' }));
      const label = el('text', { x: PAD_L - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' });
      label.textContent = fmt((top * i) / 4);
      svg.append(label);
    }
    const foot = el('text', { x: W - 4, y: H - 4, class: 'axis', 'text-anchor': 'end' });
    foot.textContent = 'now';
    svg.append(foot);
    const step = plotW / Math.max(this.points - 1, 1);
    for (const s of this.series) {
      if (s.values.length === 0) continue;
      const off = this.points - s.values.length;
      const pts = s.values.map((v, i) => `${(PAD_L + (off + i) * step).toFixed(1)},${(PAD_T + plotH - (v / top) * plotH).toFixed(1)}`);
      svg.append(el('polyline', { points: pts.join(' '), class: 'line ' + s.cls }));
    }
  }
}
