/* Shared HIT page behaviour: read the config, submit the answers, hand over to MTurk or the next HIT;
   a short confirmation on the next HIT, instructions collapsed after the first HIT of the session.

   A local annotator's next HIT of the same kind replaces this one inside the page when the kind's script
   can set itself up again (it registers with RelabelHit.onPage): the submission asks for the next HIT's page
   (NEXT_PAGE_HEADER), which the server renders as a GET of that HIT would (starting its assignment); its
   <main> takes this one's place and the address changes with history.pushState. No second request, no new
   document to set up, and the next HIT's first tiles, loaded and decoded here while the annotator worked,
   show at once. Without that page, or on anything unexpected, the browser navigates to the next HIT. */
"use strict";
(function () {
  var FLASH_KEY = "relabel.flash";
  var FLASH_MS = 4000;
  var HIT_ADDRESS = /^\/hit\/\d+\/$/;
  var NEXT_PAGE_HEADER = "X-Relabel-Next-Page";
  var statusEl = null;
  var pageHooks = [];
  var preloaded = [];  /* the likely next HIT's first tiles, held so that they stay in this document's memory cache */
  var hit = {config: null, button: null, submit: submit, setStatus: setStatus, onPage: onPage};

  function remember(key, value) {
    try { window.sessionStorage.setItem(key, value); } catch (e) { /* storage off: nothing to remember */ }
  }

  function recall(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }

  /* The previous HIT's "submitted" note, shown briefly on this one. */
  function showFlash() {
    var message = recall(FLASH_KEY);
    var flash = document.getElementById("flash");
    if (!message || !flash) { return; }
    window.sessionStorage.removeItem(FLASH_KEY);
    flash.textContent = message;
    flash.hidden = false;
    window.setTimeout(function () { flash.hidden = true; }, FLASH_MS);
  }

  /* Open on the first HIT of each kind in this browser session, collapsed (one click away) after. */
  function foldInstructions() {
    var details = document.querySelector("details.instructions");
    if (!details || hit.config.preview) { return; }
    var key = "relabel.instructions-seen." + hit.config.kind;
    if (recall(key)) { details.open = false; } else { details.open = true; remember(key, "1"); }
  }

  function setStatus(message, isError) {
    statusEl.textContent = message;
    statusEl.classList.toggle("error", Boolean(isError));
  }

  function hiddenField(name, value) {
    var field = document.createElement("input");
    field.type = "hidden";
    field.name = name;
    field.value = value;
    return field;
  }

  function handOver(result) {
    if (hit.config.mturkSubmitUrl) {
      var form = document.createElement("form");
      form.method = "POST";
      form.action = hit.config.mturkSubmitUrl;
      form.appendChild(hiddenField("assignmentId", hit.config.assignmentId));
      /* MTurk refuses a form with no field besides assignmentId: a summary goes with it (the answers stay here). */
      var stored = typeof result.stored === "number" ? result.stored + " answers" : "answers";
      form.appendChild(hiddenField("summary", stored + " stored on Relabel"));
      document.body.appendChild(form);
      form.submit();
    } else if (result.next) {
      var progress = document.querySelector(".hit-progress strong");
      remember(FLASH_KEY, "\u2713 HIT " + (progress ? progress.textContent + " " : "") + "submitted. Thank you!");
      setStatus("Submitted \u2713 Loading the next HIT\u2026");
      goTo(result.next, result.nextPage);
    } else {
      setStatus("Submitted. Thank you!");
    }
  }

  function goTo(address, page) {
    if (typeof page !== "string" || !canShowInPlace() || !HIT_ADDRESS.test(address)) {
      window.location.assign(address);
      return;
    }
    try {
      showInPlace(page, address);
    } catch (e) {
      window.location.assign(address);
    }
  }

  function canShowInPlace() {
    return pageHooks.length > 0 && !hit.config.mturkSubmitUrl;
  }

  /* The next HIT's page (the server's answer to a GET of `address`): its <main> replaces this one's. */
  function showInPlace(html, address) {
    var next = new DOMParser().parseFromString(html, "text/html");
    var main = next.querySelector("main");
    var data = next.getElementById("hit-config");
    if (!main || !data || JSON.parse(data.textContent).kind !== hit.config.kind) {
      throw new Error("not a HIT page of this kind");
    }
    document.querySelector("main").replaceWith(document.adoptNode(main));
    document.title = next.title;
    window.history.pushState(null, "", address);
    window.scrollTo(0, 0);
    setUpPage();
    pageHooks.forEach(function (hook) { hook(); });
    focusHeading();
  }

  /* Where a new page would start a screen reader: the new HIT's heading. */
  function focusHeading() {
    var heading = document.querySelector("main h1");
    if (!heading) { return; }
    heading.setAttribute("tabindex", "-1");
    heading.focus({preventScroll: true});
  }

  function submit(answer) {
    if (hit.config.preview || !hit.config.token) { return; }
    hit.button.disabled = true;
    setStatus("Submitting…");
    var body = Object.assign({token: hit.config.token}, answer);
    var headers = {"Content-Type": "application/json"};
    if (canShowInPlace()) { headers[NEXT_PAGE_HEADER] = "1"; }
    fetch(hit.config.submitUrl, {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (reply) {
      if (reply.ok) { handOver(reply.data); return; }
      setStatus("Not submitted: " + (reply.data.detail || "unknown error"), true);
      hit.button.disabled = false;
    }).catch(function () {
      setStatus("Not submitted: the connection failed. Please try again.", true);
      hit.button.disabled = false;
    });
  }

  /* The likely next HIT's first tiles, fetched and decoded once this page is idle: kept here for a next HIT
     shown in place, and in the HTTP cache (a year, immutable) for a next page. */
  function preloadNext() {
    var data = document.getElementById("hit-prefetch");
    var urls = data ? JSON.parse(data.textContent) : [];
    preloaded = urls.map(function (url) {
      var image = new Image();
      image.src = url;
      image.decode().catch(function () { /* shown from the network instead */ });
      return image;
    });
  }

  function whenIdle(task) {
    (window.requestIdleCallback || function (fn) { return window.setTimeout(fn, 500); })(task);
  }

  /* This page's HIT: its config, button and status line; the confirmation and folding; what to fetch next. */
  function setUpPage() {
    hit.config = JSON.parse(document.getElementById("hit-config").textContent);
    hit.button = document.getElementById("submit");
    statusEl = document.getElementById("status");
    if (hit.config.submitted) {
      hit.button.textContent = hit.config.mturkSubmitUrl ? "Send to MTurk again" : "Submitted";
      hit.button.disabled = !hit.config.mturkSubmitUrl;
      hit.button.addEventListener("click", function () { handOver({next: null}); });
    }
    showFlash();
    foldInstructions();
    if (document.readyState === "complete") {
      whenIdle(preloadNext);
    } else {
      window.addEventListener("load", function () { whenIdle(preloadNext); }, {once: true});
    }
  }

  /* A kind's page script: `setUp` runs now and again whenever a next HIT replaces this one in the page. */
  function onPage(setUp) {
    pageHooks.push(setUp);
    setUp();
  }

  /* Back and forward between HITs shown in place: the server's page for that address. */
  window.addEventListener("popstate", function () { window.location.reload(); });
  setUpPage();
  window.RelabelHit = hit;
})();
