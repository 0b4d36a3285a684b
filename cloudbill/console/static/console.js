// cloudbill console: progressive enhancement only. Every page and form works without it.
(function () {
  "use strict";

  function drawTrend() {
    var data = document.getElementById("trend-data");
    var canvas = document.getElementById("trend-chart");
    if (!data || !canvas || typeof Chart === "undefined") return;
    var trend = JSON.parse(data.textContent);
    // Plotted values only: the figures themselves are the table's exact decimals.
    var series = function (key) { return trend.months.map(function (m) { return Number(m[key]); }); };
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: trend.months.map(function (m) { return m.month; }),
        datasets: [
          { label: trend.labels.amount + " (" + trend.currency + ")", data: series("amount"), backgroundColor: "#0b5cad" },
          { label: trend.labels.net_amount + " (" + trend.currency + ")", data: series("net_amount"), backgroundColor: "#c7000b" }
        ]
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true } } }
    });
  }

  // The alert slider saves as soon as it is switched when htmx is there to post it.
  function wireAlertSwitch(root) {
    var box = (root || document).querySelector("[data-testid=alert-enabled]");
    if (!box || box.dataset.wired) return;
    box.dataset.wired = "1";
    box.addEventListener("change", function () {
      if (window.htmx) window.htmx.trigger(box.form, "submit");
    });
  }

  // Forms that ask before they act (release, delete, pay).
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    drawTrend();
    wireAlertSwitch();
    document.body.addEventListener("htmx:afterSwap", function (e) { wireAlertSwitch(e.target); });
  });
})();
