/* Shared HIT page behaviour: read the config, submit the answers, hand over to MTurk or the next HIT. */
"use strict";
(function () {
  var config = JSON.parse(document.getElementById("hit-config").textContent);
  var statusEl = document.getElementById("status");
  var button = document.getElementById("submit");

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
  window.RelabelHit = {config: config, submit: submit, setStatus: setStatus, button: button};
})();
