// Live progress of dashboard jobs: polls /dashboard/jobs/<id>/ until each job is done or failed.
(function () {
  "use strict";
  function poll(row) {
    fetch(row.dataset.statusUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        row.querySelector(".job-status").textContent = job.status;
        row.querySelector("progress").value = job.progress;
        row.querySelector(".job-message").textContent = job.message;
        if (job.status === "queued" || job.status === "running") {
          setTimeout(function () { poll(row); }, 1500);
        }
      })
      .catch(function () { setTimeout(function () { poll(row); }, 5000); });
  }
  document.querySelectorAll(".jobs [data-status-url]").forEach(function (row) {
    var status = row.querySelector(".job-status").textContent;
    if (status === "queued" || status === "running") { poll(row); }
  });
})();
