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

  // The bill overview's cost trend: a bar per period, stacked by group (the breakdown table
  // below it holds the exact figures).
  var PALETTE = ["#0b5cad", "#c7000b", "#2e8540", "#e07b00", "#6f42c1", "#008b8b",
    "#8b5a2b", "#d63384", "#495057", "#7a9a01"];

  function drawCosts() {
    var data = document.getElementById("cost-data");
    var canvas = document.getElementById("cost-chart");
    if (!data || !canvas || typeof Chart === "undefined") return;
    var costs = JSON.parse(data.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: costs.labels,
        datasets: costs.series.map(function (s, i) {
          return { label: s.name + " (" + costs.currency + ")", data: s.values.map(Number),
            backgroundColor: PALETTE[i % PALETTE.length] };
        })
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true }, y: { stacked: true } } }
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
    drawCosts();
    wireAlertSwitch();
    document.body.addEventListener("htmx:afterSwap", function (e) { wireAlertSwitch(e.target); });
  });
})();
