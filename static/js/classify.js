/* CLASSIFY form: the main-object radio is enabled only for ticked labels; inconsistent answers are refused. */
"use strict";
(function () {
  var hit = window.RelabelHit;
  var items = Array.prototype.slice.call(document.querySelectorAll(".classify-item"));

  function sync(item) {
    item.querySelectorAll(".label-row").forEach(function (row) {
      var valid = row.querySelector(".valid");
      var main = row.querySelector(".main");
      main.disabled = !valid.checked || hit.config.preview || hit.config.submitted;
      if (!valid.checked) { main.checked = false; }
      row.classList.toggle("ticked", valid.checked);
    });
  }

  function answerOf(item) {
    var selected = Array.prototype.slice.call(item.querySelectorAll(".valid:checked"))
      .map(function (box) { return Number(box.value); });
    var main = item.querySelector(".main:checked");
    var message = "";
    if (selected.length === 0) {
      message = "Tick at least one valid label.";
    } else if (!main) {
      message = "Choose the main object among the labels you ticked.";
    } else if (selected.indexOf(Number(main.value)) === -1) {
      message = "The main object must be one of the labels you ticked.";
    }
    item.querySelector(".item-message").textContent = message;
    return message ? null : {image: Number(item.dataset.image), selected: selected, main: Number(main.value)};
  }

  items.forEach(function (item) {
    item.querySelectorAll(".valid").forEach(function (box) {
      box.disabled = hit.config.preview || hit.config.submitted;
      box.addEventListener("change", function () { sync(item); });
    });
    sync(item);
  });

  hit.button.addEventListener("click", function () {
    if (hit.config.submitted) { return; }
    var answers = items.map(answerOf);
    var missing = answers.filter(function (a) { return a === null; }).length;
    if (missing) {
      hit.setStatus("Not submitted: " + missing + " image(s) need a valid label and a main object (see the red notes).", true);
      return;
    }
    hit.submit({answers: answers});
  });
})();
