/* CONTAINS grid: toggle tiles by click or keyboard, enlarge on hover or long press, submit the selection. */
"use strict";
(function () {
  var hit = window.RelabelHit;
  var grid = document.getElementById("grid");
  var tiles = Array.prototype.slice.call(grid.querySelectorAll(".tile"));
  var counter = document.getElementById("count");
  var zoom = document.getElementById("zoom");
  var zoomImg = zoom.querySelector("img");
  var pressTimer = null;
  var longPressed = false;

  function selected() {
    return tiles.filter(function (t) { return t.getAttribute("aria-pressed") === "true"; })
      .map(function (t) { return Number(t.dataset.image); });
  }

  function toggle(tile) {
    if (hit.config.preview || hit.config.submitted) { return; }
    var on = tile.getAttribute("aria-pressed") !== "true";
    tile.setAttribute("aria-pressed", on ? "true" : "false");
    counter.textContent = String(selected().length);
  }

  function showFull(tile) {
    var img = tile.querySelector("img");
    zoomImg.src = img.dataset.full;
    zoom.hidden = false;
  }

  function hideFull() { zoom.hidden = true; }

  tiles.forEach(function (tile, index) {
    tile.addEventListener("click", function () {
      if (longPressed) { longPressed = false; return; }
      toggle(tile);
    });
    tile.addEventListener("mouseenter", function () { showFull(tile); });
    tile.addEventListener("mouseleave", hideFull);
    tile.addEventListener("touchstart", function () {
      longPressed = false;
      pressTimer = window.setTimeout(function () { longPressed = true; showFull(tile); }, 500);
    }, {passive: true});
    tile.addEventListener("touchend", function () { window.clearTimeout(pressTimer); hideFull(); });
    tile.addEventListener("keydown", function (event) {
      var columns = Math.max(1, Math.round(grid.clientWidth / tile.offsetWidth));
      var moves = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns};
      if (event.key in moves) {
        var next = tiles[index + moves[event.key]];
        if (next) { next.focus(); }
        event.preventDefault();
      }
    });
  });

  hit.button.addEventListener("click", function () {
    if (hit.config.submitted) { return; }
    var chosen = selected();
    if (chosen.length === 0 &&
        !window.confirm("You have not selected any image. Submit anyway (no image contains the object)?")) {
      return;
    }
    hit.submit({selected: chosen});
  });
})();
