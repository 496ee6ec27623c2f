/* crimeplan's pages: draw the Plotly figures embedded in the page, follow clicks on map areas,
   and (in the static site) search the list of areas without a server. No network requests. */
(function () {
  "use strict";

  // Plotly's geo subplot asks for a world basemap (topojson) even when the basemap is hidden.
  // crimeplan's maps draw only their own boundaries, so an empty topology is given here and
  // nothing is fetched from the internet.
  window.PlotlyGeoAssets = window.PlotlyGeoAssets || { topojson: {} };
  window.PlotlyGeoAssets.topojson = window.PlotlyGeoAssets.topojson || {};
  window.PlotlyGeoAssets.topojson.world_110m = { type: "Topology", objects: {}, arcs: [] };

  function draw(el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute("data-figure")).textContent);
    return window.Plotly.newPlot(el, spec.data, spec.layout, spec.config).then(function () {
      el.setAttribute("data-rendered", "true");
      if (el.hasAttribute("data-clickable")) {
        el.on("plotly_click", function (event) {
          var point = event && event.points && event.points[0];
          if (point && point.customdata) {
            window.location.href = point.customdata;
          }
        });
      }
    });
  }

  function drawAll() {
    var figures = Array.prototype.slice.call(document.querySelectorAll("[data-figure]"));
    if (!figures.length) {
      document.body.setAttribute("data-charts", "none");
      return;
    }
    if (!window.Plotly) {
      document.body.setAttribute("data-charts", "no plotly");
      return;
    }
    Promise.all(figures.map(draw)).then(function () {
      document.body.setAttribute("data-charts", "rendered");
    }, function (error) {
      document.body.setAttribute("data-charts", "failed");
      console.error("crimeplan: a chart could not be drawn", error);
    });
  }

  // Choosing a map measure or colouring redraws the page with it.
  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit], input[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
  }

  // A table region takes keyboard focus (tabindex="0" in the page) only while it is narrower than its table, so
  // that keyboard users can scroll it; the others leave the tab order. Checked again whenever a region resizes.
  function scrollRegions() {
    var regions = Array.prototype.slice.call(document.querySelectorAll(".table-scroll[tabindex]"));
    function check(el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        el.setAttribute("tabindex", "0");
      } else if (el !== document.activeElement) {
        el.removeAttribute("tabindex");
      }
    }
    regions.forEach(check);
    if (window.ResizeObserver) {
      var observer = new window.ResizeObserver(function (entries) {
        entries.forEach(function (entry) { check(entry.target); });
      });
      regions.forEach(function (el) { observer.observe(el); });
    }
  }

  // The static site has no server to search: the list of areas comes with it (static/areas.js).
  function staticSearch() {
    var list = document.getElementById("search-results");
    if (!list || !window.CRIMEPLAN_AREAS) { return; }
    var q = new URLSearchParams(window.location.search).get("q") || "";
    var input = document.getElementById("q-page");
    if (input) { input.value = q; }
    var needle = q.trim().toLowerCase();
    var root = document.body.getAttribute("data-root") || "";
    var found = needle ? window.CRIMEPLAN_AREAS.filter(function (a) {
      return a[1].toLowerCase().indexOf(needle) >= 0 || a[0].toLowerCase() === needle;
    }) : [];
    found.sort(function (a, b) {
      return (b[1].toLowerCase().indexOf(needle) === 0) - (a[1].toLowerCase().indexOf(needle) === 0);
    });
    list.innerHTML = "";
    found.slice(0, 200).forEach(function (a) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = root + a[4];
      link.textContent = a[1];
      li.appendChild(link);
      li.appendChild(document.createTextNode(" — " + a[2] + (a[3] ? ", " + a[3] : "")));
      list.appendChild(li);
    });
    var count = document.getElementById("search-count");
    if (count) { count.textContent = needle ? found.length + " area(s) found" : ""; }
  }

  function start() {
    autoSubmit();
    staticSearch();
    scrollRegions();
    drawAll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
