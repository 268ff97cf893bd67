// The report's charts: Chart.js configured over window.REPORT_DATA (the time series, column by
// column; see chartData in htmlreport.go). Chart.js draws; this only says what to draw.
(function () {
  "use strict";
  var D = window.REPORT_DATA;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';

  var colors = {
    blue: "#0969da", green: "#1a7f37", red: "#cf222e", orange: "#bc4c00", purple: "#8250df",
    grey: "#6e7781", yellow: "#9a6700", teal: "#1b7c83", pink: "#bf3989"
  };
  var classColors = [colors.red, colors.orange, colors.purple, colors.yellow, colors.teal, colors.pink, colors.grey, colors.blue];

  function points(values) {
    return D.t.map(function (t, i) { return { x: t, y: values[i] }; });
  }
  // Dots on the points while they are few enough to tell apart.
  var radius = D.t.length > 150 ? 0 : 2;
  function line(label, values, color, extra) {
    return Object.assign({ type: "line", label: label, data: points(values), borderColor: color,
      backgroundColor: color, pointRadius: radius, borderWidth: D.t.length > 1000 ? 1 : 2, spanGaps: false }, extra || {});
  }
  function bar(label, values, color, extra) {
    return Object.assign({ type: "bar", label: label, data: points(values), backgroundColor: color,
      borderColor: color, barPercentage: 1, categoryPercentage: 0.9 }, extra || {});
  }
  // Every chart spans the same time, 0 to the last record.
  var end = D.t.length ? Math.ceil(D.t[D.t.length - 1]) : 1;
  function xAxis() {
    return { type: "linear", min: 0, max: end, offset: false, title: { display: true, text: "elapsed (s)" } };
  }
  // The usual record interval (the median gap): a bar is as wide as that. Chart.js would size
  // bars by the smallest gap, and the final record's interval is often a fraction of the others.
  var gaps = D.t.map(function (t, i) { return t - (i ? D.t[i - 1] : 0); }).sort(function (a, b) { return a - b; });
  var interval = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 1;
  function fitBars(chart) {
    var x = chart.scales.x;
    var px = Math.max(2, 0.8 * Math.abs(x.getPixelForValue(interval) - x.getPixelForValue(0)));
    chart.data.datasets.forEach(function (d) { if (d.type === "bar") { d.barThickness = px; } });
    chart.update();
  }
  function yAxis(title, extra) {
    return Object.assign({ type: "linear", beginAtZero: true, title: { display: true, text: title } }, extra || {});
  }
  function make(id, datasets, scales) {
    var canvas = document.getElementById("chart-" + id);
    var chart = new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: { scales: scales, interaction: { mode: "nearest", axis: "x", intersect: false },
        plugins: { legend: { position: "bottom" } },
        onResize: function (c) { setTimeout(function () { fitBars(c); }, 0); } }
    });
    fitBars(chart);
    return chart;
  }

  make("clients", [
    line("target", D.target, colors.grey, { borderDash: [6, 4], pointRadius: 0 }),
    line("active", D.active, colors.blue),
    line("stalled", D.stalled, colors.red)
  ], { x: xAxis(), y: yAxis("clients", { ticks: { precision: 0 } }) });

  make("throughput", [
    line("MB/s", D.mbps, colors.green, { yAxisID: "y" }),
    line("attempts/s", D.rps, colors.purple, { yAxisID: "y1" })
  ], { x: xAxis(), y: yAxis("MB/s"), y1: yAxis("attempts/s", { position: "right", grid: { drawOnChartArea: false } }) });

  function latency(id, l) {
    make(id, [
      line("p50", l.p50, colors.green),
      line("p95", l.p95, colors.orange),
      line("p99", l.p99, colors.red)
    ], { x: xAxis(), y: yAxis("ms") });
  }
  latency("ttfb", D.ttfb);
  latency("download", D.download);

  make("errors", D.errors.map(function (e, i) {
    return bar(e.class, e.counts, classColors[i % classColors.length]);
  }), { x: Object.assign(xAxis(), { stacked: true }), y: yAxis("failed attempts", { stacked: true, ticks: { precision: 0 } }) });

  make("playback", [
    bar("new stalls", D.stalls, "rgba(188, 76, 0, 0.45)", { yAxisID: "y", order: 2 }),
    line("rebuffer ratio %", D.rebuffer_pct, colors.red, { yAxisID: "y1", order: 1 })
  ], { x: xAxis(), y: yAxis("stalls", { ticks: { precision: 0 } }),
    y1: yAxis("rebuffer %", { min: 0, position: "right", grid: { drawOnChartArea: false } }) });
})();
