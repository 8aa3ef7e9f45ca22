// Draws the commitments' daily coverage and utilization (per cent, one line each per kind) from
// the JSON the page embeds with json_script. No inline script: the Content-Security-Policy allows
// only our own static files. A day without a figure is null: a gap in the line, never a zero.
(function () {
  "use strict";

  // Okabe-Ito, as allocation-chart.js: told apart with any common colour-vision deficiency.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"];

  function render(root) {
    const data = JSON.parse(document.getElementById(root.dataset.source).textContent);
    const canvas = root.querySelector("canvas");
    const textColor = getComputedStyle(root).color;
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set, i) {
          return {
            label: set.label,
            data: set.data.map((value) => (value === null ? null : Number(value))),
            borderColor: PALETTE[i % PALETTE.length],
            backgroundColor: PALETTE[i % PALETTE.length],
            spanGaps: false,
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ticks: { color: textColor } },
          y: { min: 0, max: 100, ticks: { color: textColor, callback: (value) => value + " %" } },
        },
        plugins: {
          legend: { position: "bottom", labels: { color: textColor } },
          tooltip: {
            callbacks: { label: (item) => item.dataset.label + ": " + item.parsed.y.toFixed(1) + " %" },
          },
        },
      },
    });
    // Browser tests wait for this instead of guessing how long drawing takes.
    root.dataset.rendered = "yes";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-commitment-chart]").forEach(render);
  });
})();
