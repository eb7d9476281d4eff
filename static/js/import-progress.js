// Smoother progress for a background import: polls the JSON status every half second and
// updates the <progress> bar; reloads the page (for the preview or the error) when the job stops.
// Without JavaScript the page refreshes itself with <meta http-equiv="refresh">.
(function () {
    "use strict";
    var box = document.querySelector(".import-job[data-status-url]");
    if (!box || box.getAttribute("data-running") !== "1" || !window.fetch) {
        return;
    }
    var refresh = document.querySelector('meta[http-equiv="refresh"]');
    if (refresh) {
        refresh.parentNode.removeChild(refresh);
    }
    var bar = document.getElementById("job-progress");
    var count = document.getElementById("job-count");
    var status = document.getElementById("job-status");

    function show(data) {
        bar.max = data.total_rows || 1;
        bar.value = data.processed_rows;
        bar.textContent = data.percent + "%";
        status.textContent = data.status_display;
        count.querySelector(".job-done").textContent = data.processed_rows;
        count.querySelector(".job-total").textContent = data.total_rows;
        count.querySelector(".job-percent").textContent = data.percent;
    }

    function poll() {
        fetch(box.getAttribute("data-status-url"), {credentials: "same-origin", headers: {Accept: "application/json"}})
            .then(function (response) {
                if (!response.ok) {
                    throw new Error(response.status);
                }
                return response.json();
            })
            .then(function (data) {
                show(data);
                if (data.running) {
                    window.setTimeout(poll, 500);
                } else {
                    window.location.reload();
                }
            })
            .catch(function () {
                window.setTimeout(poll, 3000);
            });
    }
    poll();
}());
