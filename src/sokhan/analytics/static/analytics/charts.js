/* Draws every <canvas data-chart="ID"> from the JSON in <script id="ID"> with Chart.js (vendored
   from npm). Labels arrive formatted by the server (Jalali, Persian digits); values are formatted
   in the page's language. null values stay gaps. Colours come from CSS variables, so charts follow
   the light/dark scheme and are redrawn when it changes. */
(function () {
  "use strict";
  var root = document.documentElement;
  var fa = (root.lang || "").indexOf("fa") === 0;
  var rtl = root.dir === "rtl";
  var locale = fa ? "fa-IR" : "en-US";
  var numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  var charts = [];

  function css(name, fallback) {
    return getComputedStyle(root).getPropertyValue(name).trim() || fallback;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) return null;
    var payload = JSON.parse(source.textContent);
    var text = css("--text", "#1d2330");
    var grid = css("--line", "#d9dde5");
    payload.datasets.forEach(function (set, i) {
      var colour = css("--chart-" + ((i % 6) + 1), "#0f6b5c");
      set.borderColor = colour;
      set.backgroundColor = colour;
      set.spanGaps = false;
      set.pointRadius = 2;
    });
    return new Chart(canvas, {
      type: payload.type,
      data: { labels: payload.labels, datasets: payload.datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        layout: { padding: { left: 24, right: 24 } },
        locale: locale,
        plugins: {
          legend: { rtl: rtl, textDirection: rtl ? "rtl" : "ltr", labels: { color: text } },
          tooltip: { rtl: rtl, textDirection: rtl ? "rtl" : "ltr" }
        },
        scales: {
          x: { reverse: rtl, ticks: { color: text }, grid: { color: grid } },
          y: {
            position: rtl ? "right" : "left",
            beginAtZero: payload.type === "bar",
            ticks: { color: text, callback: function (value) { return numbers.format(value); } },
            grid: { color: grid }
          }
        }
      }
    });
  }

  function drawAll() {
    charts.forEach(function (chart) { if (chart) chart.destroy(); });
    charts = Array.prototype.map.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", drawAll);
  }
})();
