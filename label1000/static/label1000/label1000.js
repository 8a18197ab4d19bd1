/* 1000-way labeling: pick up to 5 classes per image from the hierarchy-ordered list; time per image.
   The class list is one stop for Tab (its current row); the arrow keys, Home and End move within it. */
"use strict";
(function () {
  var hit = window.RelabelHit;
  var MAX_LABELS = 5;
  var classes = JSON.parse(document.getElementById("l1k-classes-data").textContent);
  var items = JSON.parse(document.getElementById("l1k-items-data").textContent);
  var options = JSON.parse(document.getElementById("l1k-options").textContent);
  var locked = hit.config.preview || hit.config.submitted;
  var listEl = document.getElementById("l1k-classes");
  var pickedEl = document.getElementById("l1k-picked");
  var searchEl = document.getElementById("l1k-search");
  var pruneEl = document.getElementById("l1k-prune");
  var countEl = document.getElementById("l1k-count");
  var imageEl = document.getElementById("l1k-image");
  var dotsEl = document.getElementById("l1k-dots");
  var pruneLabelEl = document.getElementById("l1k-prune-label");
  var dots = [];
  var byIndex = {};
  var rows = [];
  var state = items.map(function () { return {labels: [], seconds: 0}; });
  var current = 0;
  var shownAt = null;
  var activeRow = null;

  function exemplarUrl(wnid, n) {
    return options.exemplarUrl.replace("WNID/0/", wnid + "/" + n + "/");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function buildRow(cls) {
    var row = el("li", "l1k-class");
    row.tabIndex = -1;
    row.dataset.index = cls.i;
    row.appendChild(el("span", "l1k-rank"));
    var thumbs = el("span", "l1k-thumbs");
    for (var n = 0; n < cls.x; n++) {
      var box = el("span", "l1k-thumb");
      var img = document.createElement("img");
      img.width = 72; img.height = 72; img.alt = ""; img.loading = "lazy"; img.decoding = "async";
      img.dataset.src = exemplarUrl(cls.w, n);
      box.appendChild(img);
      thumbs.appendChild(box);
    }
    row.appendChild(thumbs);
    var text = el("span", "l1k-text");
    text.appendChild(el("div", "l1k-name", cls.n + (cls.s ? " (" + cls.s + ")" : "")));
    text.appendChild(el("div", "l1k-def", cls.d));
    text.appendChild(el("div", "l1k-anc", cls.a));
    row.title = cls.a ? cls.a + " / " + cls.n : cls.n;
    row.appendChild(text);
    return row;
  }

  /* Thumbnails get their address only when their row comes near the visible part of the list. */
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) { return; }
      entry.target.querySelectorAll("img[data-src]").forEach(function (img) {
        img.src = img.dataset.src;
        img.removeAttribute("data-src");
      });
      observer.unobserve(entry.target);
    });
  }, {root: listEl, rootMargin: "600px 0px"}) : null;

  /* The row that Tab reaches in the list (roving tabindex): the last one used, or the first one shown. */
  function setActive(row) {
    if (activeRow) { activeRow.tabIndex = -1; }
    activeRow = row;
    if (row) { row.tabIndex = 0; }
  }

  function visibleRow(from, step) {
    for (var i = from; i >= 0 && i < rows.length; i += step) {
      if (!rows[i].hidden) { return rows[i]; }
    }
    return null;
  }

  function moveFocus(row) {
    if (!row) { return; }
    setActive(row);
    row.focus();
  }

  function onListKey(event) {
    var row = event.target.closest(".l1k-class");
    if (!row) { return; }
    var at = rows.indexOf(row);
    var targets = {
      ArrowDown: function () { return visibleRow(at + 1, 1); },
      ArrowUp: function () { return visibleRow(at - 1, -1); },
      Home: function () { return visibleRow(0, 1); },
      End: function () { return visibleRow(rows.length - 1, -1); }
    };
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      toggle(Number(row.dataset.index));
    } else if (event.key in targets) {
      event.preventDefault();
      moveFocus(targets[event.key]());
    }
  }

  function buildList() {
    var fragment = document.createDocumentFragment();
    classes.forEach(function (cls) {
      var row = buildRow(cls);
      cls.hay = (cls.n + " " + cls.s + " " + cls.d + " " + cls.a).toLowerCase();
      byIndex[cls.i] = cls;
      cls.row = row;
      rows.push(row);
      fragment.appendChild(row);
    });
    listEl.appendChild(fragment);
    rows.forEach(function (row) {
      if (observer) { observer.observe(row); return; }
      row.querySelectorAll("img[data-src]").forEach(function (img) { img.src = img.dataset.src; });
    });
  }

  /* One numbered button per image, marked done once it has a label. */
  function buildDots() {
    items.forEach(function (item, position) {
      var li = el("li");
      var button = el("button", "l1k-dot", String(position + 1));
      button.type = "button";
      button.addEventListener("click", function () { show(position); });
      li.appendChild(button);
      dotsEl.appendChild(li);
      dots.push(button);
    });
  }

  function renderDots() {
    dots.forEach(function (button, position) {
      var done = state[position].labels.length > 0;
      button.classList.toggle("done", done);
      button.textContent = String(position + 1) + (done ? " \u2713" : "");
      button.setAttribute("aria-label", "image " + (position + 1) + (done ? ", labelled" : ", no label yet"));
      if (position === current) { button.setAttribute("aria-current", "true"); } else { button.removeAttribute("aria-current"); }
    });
  }

  /* The filter says how many classes it keeps for this image (the models' top K, together, can be fewer);
     an image no model predicted has nothing to filter by. */
  function renderPruneLabel() {
    var top = items[current] ? items[current].top.length : 0;
    pruneEl.disabled = top === 0;
    if (pruneEl.disabled) { pruneEl.checked = false; }
    pruneLabelEl.textContent = top ? "Only the models' " + top + " likeliest classes" : "No model predictions for this image";
  }

  function filter() {
    var terms = searchEl.value.toLowerCase().split(/\s+/).filter(Boolean);
    var top = pruneEl.checked && items[current] ? new Set(items[current].top) : null;
    var shown = 0;
    classes.forEach(function (cls) {
      var visible = (!top || top.has(cls.i)) && terms.every(function (t) { return cls.hay.indexOf(t) !== -1; });
      cls.row.hidden = !visible;
      if (visible) { shown++; }
    });
    countEl.textContent = shown + " of " + classes.length + " classes";
    if (!activeRow || activeRow.hidden) { setActive(visibleRow(0, 1)); }
  }

  function renderPicked() {
    var labels = state[current].labels;
    pickedEl.textContent = "";
    labels.forEach(function (index, position) {
      var li = el("li");
      li.appendChild(el("span", "l1k-pick-rank", String(position + 1)));
      li.appendChild(el("span", "l1k-pick-name", byIndex[index] ? byIndex[index].n : String(index)));
      [["\u2191", -1, "move up"], ["\u2193", 1, "move down"], ["\u00d7", 0, "remove"]].forEach(function (spec) {
        var button = el("button", "", spec[0]);
        button.type = "button";
        button.setAttribute("aria-label", spec[2] + " " + (byIndex[index] ? byIndex[index].n : index));
        button.disabled = locked;
        button.addEventListener("click", function () { move(position, spec[1]); });
        li.appendChild(button);
      });
      pickedEl.appendChild(li);
    });
    rows.forEach(function (row) {
      var rank = labels.indexOf(Number(row.dataset.index));
      row.classList.toggle("picked", rank !== -1);
      row.firstChild.textContent = rank === -1 ? "" : String(rank + 1);
    });
    renderDots();
  }

  function move(position, step) {
    var labels = state[current].labels;
    if (step === 0) { labels.splice(position, 1); }
    var target = position + step;
    if (step !== 0 && target >= 0 && target < labels.length) {
      labels.splice(target, 0, labels.splice(position, 1)[0]);
    }
    renderPicked();
  }

  function toggle(index) {
    if (locked) { return; }
    var labels = state[current].labels;
    var at = labels.indexOf(index);
    if (at !== -1) {
      labels.splice(at, 1);
    } else if (labels.length < MAX_LABELS) {
      labels.push(index);
    } else {
      hit.setStatus("At most " + MAX_LABELS + " labels per image: remove one first.", true);
      return;
    }
    hit.setStatus("");
    renderPicked();
  }

  /* Time spent counts while an image is shown and the page is visible. */
  function stopClock() {
    if (shownAt !== null && state[current]) {
      state[current].seconds += (performance.now() - shownAt) / 1000;
    }
    shownAt = null;
  }

  function startClock() {
    if (!locked && !document.hidden) { shownAt = performance.now(); }
  }

  function show(position) {
    if (!items.length) { return; }
    stopClock();
    current = Math.max(0, Math.min(items.length - 1, position));
    imageEl.src = items[current].src;
    document.getElementById("l1k-pos").textContent = String(current + 1);
    var reveal = document.getElementById("l1k-reveal");
    if (reveal) { reveal.textContent = ""; }
    renderPicked();
    renderPruneLabel();
    filter();
    startClock();
  }

  function reveal(kind) {
    var item = items[current];
    var out = document.getElementById("l1k-reveal");
    if (kind === "answer") {
      out.textContent = "Answer: " + (item.answer === null ? "unknown" : byIndex[item.answer].n);
    } else {
      out.textContent = item.model.length ? "Models: " + item.model.map(function (pair) {
        return byIndex[pair[0]].n + " (" + Math.round(pair[1] * 100) + "%)";
      }).join(", ") : "No model prediction for this image.";
    }
  }

  buildList();
  buildDots();
  listEl.addEventListener("click", function (event) {
    var row = event.target.closest(".l1k-class");
    if (row) { setActive(row); toggle(Number(row.dataset.index)); }
  });
  listEl.addEventListener("keydown", onListKey);
  var pending = null;
  searchEl.addEventListener("input", function () {
    clearTimeout(pending);
    pending = setTimeout(filter, 60);
  });
  searchEl.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      filter();
      moveFocus(activeRow);
      return;
    }
    if (event.key !== "Enter") { return; }
    event.preventDefault();
    filter();
    var first = rows.find(function (row) { return !row.hidden; });
    if (first) { toggle(Number(first.dataset.index)); }
  });
  pruneEl.addEventListener("change", filter);
  document.getElementById("l1k-prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("l1k-next").addEventListener("click", function () { show(current + 1); });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { stopClock(); } else { startClock(); }
  });
  if (options.practice) {
    document.getElementById("l1k-show-answer").addEventListener("click", function () { reveal("answer"); });
    document.getElementById("l1k-show-model").addEventListener("click", function () { reveal("model"); });
  }
  show(0);

  hit.button.addEventListener("click", function () {
    if (hit.config.submitted) { return; }
    var missing = state.findIndex(function (entry) { return entry.labels.length === 0; });
    if (missing !== -1) {
      show(missing);
      hit.setStatus("Not submitted: image " + (missing + 1) + " has no label yet.", true);
      return;
    }
    stopClock();
    startClock();
    hit.submit({answers: items.map(function (item, i) {
      return {image: item.image, labels: state[i].labels.slice(), seconds: Math.round(state[i].seconds * 1000) / 1000};
    })});
  });
  window.RelabelLabel1000 = {state: state, show: show, toggle: toggle};
})();
