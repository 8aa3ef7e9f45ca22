// Draws the daily cost chart from the JSON that the page embeds with json_script.
// No inline script: the page's Content-Security-Policy allows only our own static files.
(function () {
  "use strict";

  // Okabe-Ito: told apart by people with any common colour-vision deficiency.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999"];

  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

  const SPIKE_LABEL = "Cost spike";

  function spikeText(spike) {
    return (
      spike.service + " in " + spike.account + ": " + money.format(Number(spike.cost)) +
      " against a median of " + money.format(Number(spike.baseline_median)) +
      " (+" + money.format(Number(spike.increase)) + ")"
    );
  }

  function datasets(view, textColor) {
    const sets = view.datasets.map(function (set, i) {
      return {
        label: set.label,
        data: set.data,
        backgroundColor: PALETTE[i % PALETTE.length],
        stack: "cost",
      };
    });
    if (view.spikes.some((day) => day.length)) {
      // A marker on top of each day the alert rule judged a spike. Its own stack, so it is
      // never added to the costs; its value is the day's total, which puts it on the bar.
      sets.push({
        type: "line",
        label: SPIKE_LABEL,
        data: view.spikes.map((day, i) => (day.length ? Number(view.totals[i]) : null)),
        spikes: view.spikes,
        stack: "spikes",
        showLine: false,
        pointStyle: "triangle",
        pointRadius: 9,
        pointHoverRadius: 11,
        backgroundColor: textColor,
        borderColor: textColor,
        order: -1,
      });
    }
    return sets;
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
          grace: "8%", // room for a marker on the tallest bar
          ticks: { color: textColor, callback: (value) => money.format(value) },
        },
      },
      plugins: {
        legend: { position: "bottom", labels: { color: textColor } },
        tooltip: {
          callbacks: {
            label: (item) =>
              item.dataset.spikes
                ? item.dataset.spikes[item.dataIndex].map((s) => SPIKE_LABEL + ": " + spikeText(s))
                : item.dataset.label + ": " + money.format(item.parsed.y),
            footer: (items) =>
              "Total: " +
              money.format(
                items
                  .filter((item) => !item.dataset.spikes)
                  .reduce((sum, item) => sum + item.parsed.y, 0),
              ),
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
        data: { labels: view.labels, datasets: datasets(view, textColor) },
        options: options(textColor),
      });
      const spikeDays = view.spikes.filter((day) => day.length).length;
      const spikeNote = spikeDays
        ? "; " + spikeDays + " day(s) with a cost spike, listed in the table below"
        : "";
      canvas.setAttribute(
        "aria-label",
        "Daily cost for the last " + days + " days, stacked by service: " +
          money.format(Number(view.total)) + " in all" + spikeNote,
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
