// Draws the daily cost chart from the JSON that the page embeds with json_script.
// No inline script: the page's Content-Security-Policy allows only our own static files.
(function () {
  "use strict";

  // Okabe-Ito: told apart by people with any common colour-vision deficiency.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999"];

  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

  function datasets(view) {
    return view.datasets.map(function (set, i) {
      return {
        label: set.label,
        data: set.data,
        backgroundColor: PALETTE[i % PALETTE.length],
        stack: "cost",
      };
    });
  }

  function options(textColor) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { stacked: true, ticks: { color: textColor, maxRotation: 0, autoSkipPadding: 12 } },
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
    };
  }

  function render(root) {
    const data = JSON.parse(document.getElementById(root.dataset.source).textContent);
    const canvas = root.querySelector("canvas");
    const buttons = root.querySelectorAll("button[data-days]");
    const textColor = getComputedStyle(root).color;
    let chart = null;

    function show(days) {
      const view = data.views[days];
      if (chart) {
        chart.destroy();
      }
      chart = new window.Chart(canvas, {
        type: "bar",
        data: { labels: view.labels, datasets: datasets(view) },
        options: options(textColor),
      });
      canvas.setAttribute(
        "aria-label",
        "Daily cost for the last " + days + " days, stacked by service: " +
          money.format(Number(view.total)) + " in all",
      );
      buttons.forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.dataset.days === days));
      });
      // Browser tests wait for this instead of guessing how long drawing takes.
      root.dataset.renderedDays = days;
    }

    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        show(button.dataset.days);
      });
    });
    show(data.default);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-cost-chart]").forEach(render);
  });
})();
