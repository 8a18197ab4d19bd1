// Draws every chart of the page from its Vega-Lite spec (charts/chart.html) with vega-embed; the menu's
// downloads are named as the server's (?chart=&format=), e.g. "demo-confusing.svg".
(function () {
  "use strict";
  const options = {
    mode: "vega-lite",
    renderer: "svg",
    actions: { export: true, source: false, compiled: false, editor: false },
    i18n: { SVG_ACTION: "Download SVG", PNG_ACTION: "Download PNG" },
  };
  document.querySelectorAll(".vega-chart[data-spec]").forEach(function (element) {
    const spec = JSON.parse(document.getElementById(element.dataset.spec).textContent);
    const named = Object.assign({}, options, { downloadFileName: element.dataset.filename || "chart" });
    window.vegaEmbed(element, spec, named).then(function () {
      element.dataset.rendered = "true";
    }).catch(function (error) {
      element.textContent = "This chart could not be drawn: " + error.message;
      element.dataset.rendered = "error";
    });
  });
})();
