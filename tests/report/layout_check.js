// Measures the rendered report (loaded into a test-only copy of the page) and writes a JSON verdict
// into a pre element, id layout-verdict: every chart drawn, bars on their row labels, value texts beside their
// bars, the legend clear of every bar and value. Ids come from calib.report.charts (CHART-bar-ROW-SERIES,
// CHART-value-ROW[-SERIES], CHART-row-ROW, CHART-legend).
(function () {
  const problems = [];
  const charts = [];
  const box = (element) => element.getBoundingClientRect();
  const middle = (rect) => (rect.top + rect.bottom) / 2;
  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const px = (value) => Math.round(value);
  for (const figure of document.querySelectorAll("figure.chart")) {
    const name = figure.dataset.chart;
    const svg = figure.querySelector("svg");
    const rect = svg ? box(svg) : null;
    const bars = figure.querySelectorAll('g[id*="-bar-"]');
    charts.push({name, width: rect ? px(rect.width) : 0, height: rect ? px(rect.height) : 0, bars: bars.length});
    if (!rect || rect.width < 100 || rect.height < 50) problems.push(`${name}: chart not drawn`);
    const rows = {};
    for (const bar of bars) {
      const [, row, series] = bar.id.match(/-bar-(\d+)-(\d+)$/);
      (rows[row] = rows[row] || []).push({id: bar.id, series, rect: box(bar)});
    }
    for (const [row, list] of Object.entries(rows)) {
      const label = figure.querySelector(`g[id$="-row-${row}"]`);
      if (!label) { problems.push(`${name}: bars of row ${row} have no label`); continue; }
      const at = middle(box(label));
      const top = Math.min(...list.map((bar) => bar.rect.top));
      const bottom = Math.max(...list.map((bar) => bar.rect.bottom));
      // the row's bars are centred on its label: within 15% of their extent (a bar in the wrong slot of
      // its group is off by half a slot, 50%)
      if (Math.abs(at - (top + bottom) / 2) > Math.max(2, 0.15 * (bottom - top))) {
        problems.push(`${name}: bars of row ${row} (${px(top)}-${px(bottom)} px) are off their label at ${px(at)} px`);
      }
      for (const bar of list) {
        const value = figure.querySelector(`g[id$="-value-${row}-${bar.series}"]`);
        if (!value) { problems.push(`${name}: ${bar.id} has no value`); continue; }
        const text = box(value);
        if (Math.abs(middle(text) - middle(bar.rect)) > bar.rect.height / 2) {
          problems.push(`${name}: the value of ${bar.id} is not beside its bar`);
        }
        if (text.left < bar.rect.right - 1) problems.push(`${name}: the value of ${bar.id} overlaps its bar`);
      }
    }
    for (const value of figure.querySelectorAll('g[id*="-value-"]')) {  // one value per row (distributions)
      const match = value.id.match(/-value-(\d+)$/);
      const label = match && figure.querySelector(`g[id$="-row-${match[1]}"]`);
      if (label && Math.abs(middle(box(value)) - middle(box(label))) > box(label).height) {
        problems.push(`${name}: ${value.id} is off its row`);
      }
    }
    const legend = figure.querySelector('g[id$="-legend"]');
    if (legend) {
      const area = box(legend);
      for (const element of figure.querySelectorAll('g[id*="-value-"], g[id*="-bar-"]')) {
        if (overlap(area, box(element))) problems.push(`${name}: the legend covers ${element.id}`);
      }
    }
  }
  const verdict = document.createElement("pre");
  verdict.id = "layout-verdict";
  verdict.textContent = JSON.stringify({charts, problems});
  document.body.appendChild(verdict);
})();
