/* The admin's date field: what the portal reads in the date, shown live under it.
   Without this script the form shows the same reading after a first save (cooperation/admin_dates.py). */
(function () {
  "use strict";
  var timers = new WeakMap();

  function show(input) {
    var output = document.getElementById(input.id + "_reading");
    var confirm = document.querySelector('input[data-date-confirm="' + input.id + '"]');
    if (!output || !confirm) {
      return;
    }
    var text = input.value;
    var url = output.getAttribute("data-url") + "?text=" + encodeURIComponent(text);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (!answer || input.value !== text) {
          return;
        }
        output.textContent = answer.ok ? answer.reading : answer.error;
        output.classList.toggle("date-reading-error", !answer.ok);
        confirm.value = answer.ok ? text : "";
      })
      .catch(function () {
        output.textContent = "";
      });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-date-reading]")) {
      return;
    }
    clearTimeout(timers.get(input));
    timers.set(input, setTimeout(function () { show(input); }, 250));
  });
})();
