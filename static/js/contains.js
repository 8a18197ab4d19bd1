/* CONTAINS grid: toggle tiles by click or keyboard, enlarge beside the tile on hover or long press, submit the
   selection (an empty one only after an in-page confirmation). Set up again for each HIT shown in the page. */
"use strict";
window.RelabelHit.onPage(function () {
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

  var GAP = 8;

  /* Beside the tile: to its right if it fits, else to its left, else over the tile's column (phones).
     Measured at the screen's top left, where nothing narrows it (a fixed box shrinks to fit where it stands). */
  function place(tile) {
    var box = tile.getBoundingClientRect();
    zoom.style.left = "0px";
    zoom.style.top = "0px";
    var width = zoom.offsetWidth;
    var height = zoom.offsetHeight;
    var left = box.right + GAP;
    if (left + width > window.innerWidth - GAP) { left = box.left - GAP - width; }
    if (left < GAP) { left = Math.max(GAP, (window.innerWidth - width) / 2); }
    var top = Math.min(Math.max(GAP, box.top), window.innerHeight - height - GAP);
    zoom.style.left = left + "px";
    zoom.style.top = Math.max(GAP, top) + "px";
  }

  function showFull(tile) {
    var img = tile.querySelector("img");
    zoomImg.src = img.dataset.full;
    zoom.hidden = false;
    place(tile);
    zoomImg.onload = function () { if (!zoom.hidden) { place(tile); } };
  }

  function hideFull() { zoom.hidden = true; }

  tiles.forEach(function (tile, index) {
    tile.addEventListener("click", function () {
      if (longPressed) { longPressed = false; return; }
      toggle(tile);
    });
    /* Hover is a mouse's: after a tap, touch screens also send mouse events, which must not open the view. */
    tile.addEventListener("pointerenter", function (event) { if (event.pointerType === "mouse") { showFull(tile); } });
    tile.addEventListener("pointerleave", function (event) { if (event.pointerType === "mouse") { hideFull(); } });
    tile.addEventListener("touchstart", function () {
      longPressed = false;
      pressTimer = window.setTimeout(function () { longPressed = true; showFull(tile); }, 500);
    }, {passive: true});
    ["touchend", "touchcancel", "touchmove"].forEach(function (type) {
      tile.addEventListener(type, function () { window.clearTimeout(pressTimer); hideFull(); }, {passive: true});
    });
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

  var confirmEmpty = document.getElementById("confirm-empty");
  document.getElementById("confirm-empty-back").addEventListener("click", function () {
    confirmEmpty.close();
    if (tiles[0]) { tiles[0].focus(); }
  });
  document.getElementById("confirm-empty-submit").addEventListener("click", function () {
    confirmEmpty.close();
    hit.submit({selected: []});
  });

  hit.button.addEventListener("click", function () {
    if (hit.config.submitted) { return; }
    var chosen = selected();
    if (chosen.length === 0) {
      confirmEmpty.showModal();
      document.getElementById("confirm-empty-back").focus();
      return;
    }
    hit.submit({selected: chosen});
  });
});
