// The observatory's charts (Chart.js, vendored): the data come from the page's
// json_script block, the same figures as the table beside each chart. No inline script,
// so the Content-Security-Policy's script-src 'self' holds.
(function () {
  "use strict";
  var source = document.getElementById("observatory-charts");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var charts = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "fr";
  // Colours readable on white and told apart without hue (dashes for the second line).
  var colours = ["#1d4e89", "#c2571a", "#2f7d4f", "#7a4b9a"];
  var formats = {
    currency: new Intl.NumberFormat(lang, {
      style: "currency",
      currency: "EUR",
      maximumFractionDigits: 0,
      notation: "compact",
    }),
    percent: new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }),
    count: new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }),
  };
  function format(unit, value) {
    if (value === null || value === undefined) {
      return "—";
    }
    var text = formats[unit].format(value);
    return unit === "percent" ? text + " %" : text;
  }
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  charts.forEach(function (spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas) {
      return;
    }
    var valueAxis = spec.horizontal ? "x" : "y";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      stacked: !!spec.stacked,
      max: spec.unit === "percent" ? 100 : undefined,
      ticks: {
        callback: function (value) {
          return format(spec.unit, value);
        },
      },
    };
    scales[valueAxis === "x" ? "y" : "x"] = { stacked: !!spec.stacked };
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (dataset, index) {
          return {
            label: dataset.label,
            data: dataset.data,
            backgroundColor: colours[index % colours.length],
            borderColor: colours[index % colours.length],
            borderDash: spec.type === "line" && index > 0 ? [6, 4] : [],
            spanGaps: true,
          };
        }),
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: reduced ? false : undefined,
        scales: scales,
        plugins: {
          legend: { display: spec.datasets.length > 1 },
          tooltip: {
            callbacks: {
              label: function (context) {
                return context.dataset.label + " : " + format(spec.unit, context.raw);
              },
            },
          },
        },
      },
    });
  });
})();
