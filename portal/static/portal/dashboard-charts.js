// Draws the dashboard's charts with Chart.js (a local static file, no CDN).
// Each <figure data-chart="ID"> holds the numbers as JSON (json_script, element ID) and a
// table with the same numbers. Without JavaScript, or if Chart.js is missing, the table is
// what people see; once a chart is drawn the table is hidden visually but stays for screen
// readers (the canvas itself is aria-hidden).
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") { return; }
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
    var source = document.getElementById(figure.dataset.chart);
    var holder = figure.querySelector(".chart-canvas");
    var table = figure.querySelector(".chart-table");
    if (!source || !holder || !table) { return; }
    var data = JSON.parse(source.textContent);
    holder.hidden = false;
    var horizontal = data.horizontal;
    if (horizontal) { holder.style.height = (data.labels.length * 32 + 90) + "px"; }
    new window.Chart(holder.querySelector("canvas"), {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series) {
          return { label: series.label, data: series.data, backgroundColor: series.color };
        })
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        // Numbers in ticks and tooltips as the page's language writes them (1 200, 1,200);
        // the labels themselves come translated in the JSON.
        locale: document.documentElement.lang || undefined,
        animation: reduceMotion ? false : undefined,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: data.stacked, ticks: { precision: 0 } },
          y: { stacked: data.stacked, beginAtZero: true, ticks: { precision: 0 } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
    table.classList.add("visually-hidden");
  });
}());
