/* Shared HIT page behaviour: read the config, submit the answers, hand over to MTurk or the next HIT;
   a short confirmation on the next HIT, instructions collapsed after the first HIT of the session. */
"use strict";
(function () {
  var config = JSON.parse(document.getElementById("hit-config").textContent);
  var statusEl = document.getElementById("status");
  var button = document.getElementById("submit");
  var FLASH_KEY = "relabel.flash";
  var FLASH_MS = 4000;

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
    if (!details || config.preview) { return; }
    var key = "relabel.instructions-seen." + config.kind;
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
    if (config.mturkSubmitUrl) {
      var form = document.createElement("form");
      form.method = "POST";
      form.action = config.mturkSubmitUrl;
      form.appendChild(hiddenField("assignmentId", config.assignmentId));
      /* MTurk refuses a form with no field besides assignmentId: a summary goes with it (the answers stay here). */
      var stored = typeof result.stored === "number" ? result.stored + " answers" : "answers";
      form.appendChild(hiddenField("summary", stored + " stored on Relabel"));
      document.body.appendChild(form);
      form.submit();
    } else if (result.next) {
      var progress = document.querySelector(".hit-progress strong");
      remember(FLASH_KEY, "\u2713 HIT " + (progress ? progress.textContent + " " : "") + "submitted. Thank you!");
      setStatus("Submitted \u2713 Loading the next HIT\u2026");
      window.location.assign(result.next);
    } else {
      setStatus("Submitted. Thank you!");
    }
  }

  function submit(answer) {
    if (config.preview || !config.token) { return; }
    button.disabled = true;
    setStatus("Submitting…");
    var body = Object.assign({token: config.token}, answer);
    fetch(config.submitUrl, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      credentials: "same-origin",
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (reply) {
      if (reply.ok) { handOver(reply.data); return; }
      setStatus("Not submitted: " + (reply.data.detail || "unknown error"), true);
      button.disabled = false;
    }).catch(function () {
      setStatus("Not submitted: the connection failed. Please try again.", true);
      button.disabled = false;
    });
  }

  if (config.submitted) {
    button.textContent = config.mturkSubmitUrl ? "Send to MTurk again" : "Submitted";
    button.disabled = !config.mturkSubmitUrl;
    button.addEventListener("click", function () { handOver({next: null}); });
  }
  /* The next HIT's first tiles, fetched once this page has loaded and gone quiet (cached for the next page). */
  function prefetchNext() {
    var data = document.getElementById("hit-prefetch");
    if (!data) { return; }
    var urls = JSON.parse(data.textContent);
    var later = window.requestIdleCallback || function (fn) { return window.setTimeout(fn, 500); };
    later(function () {
      urls.forEach(function (url) {
        var link = document.createElement("link");
        link.rel = "prefetch";
        link.as = "image";
        link.href = url;
        document.head.appendChild(link);
      });
    });
  }

  showFlash();
  foldInstructions();
  if (document.readyState === "complete") { prefetchNext(); } else { window.addEventListener("load", prefetchNext); }
  window.RelabelHit = {config: config, submit: submit, setStatus: setStatus, button: button};
})();
