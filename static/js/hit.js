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

  function handOver(result) {
    if (config.mturkSubmitUrl) {
      var form = document.createElement("form");
      form.method = "POST";
      form.action = config.mturkSubmitUrl;
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "assignmentId";
      field.value = config.assignmentId;
      form.appendChild(field);
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
