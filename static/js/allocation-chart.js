// Draws the "Cost by <dimension>" trend (monthly spend per value, stacked) from the JSON the
// page embeds with json_script. No inline script: the Content-Security-Policy allows only our
// own static files. Same palette and money format as cost-chart.js.
(function () {
  "use strict";

  // Okabe-Ito: told apart by people with any common colour-vision deficiency.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"];

  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

  function render(root) {
    const data = JSON.parse(document.getElementById(root.dataset.source).textContent);
    const canvas = root.querySelector("canvas");
    const textColor = getComputedStyle(root).color;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set, i) {
          return {
            label: set.label,
            data: set.data.map(Number),
            backgroundColor: PALETTE[i % PALETTE.length],
            stack: "cost",
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, ticks: { color: textColor } },
          y: {
            stacked: true,
            beginAtZero: true,
            ticks: { color: textColor, callback: (value) => money.format(value) },
          },
        },
        plugins: {
          legend: { position: "bottom", labels: { color: textColor } },
          tooltip: {
            callbacks: {
              label: (item) => item.dataset.label + ": " + money.format(item.parsed.y),
              footer: (items) =>
                "Total: " + money.format(items.reduce((sum, item) => sum + item.parsed.y, 0)),
            },
          },
        },
      },
    });
    // Browser tests wait for this instead of guessing how long drawing takes.
    root.dataset.rendered = "yes";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-allocation-chart]").forEach(render);
  });
})();
