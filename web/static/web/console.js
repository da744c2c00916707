// The console's own script: small behaviours the pages share. Loaded as a file because the
// Content-Security-Policy runs no inline script.
(function () {
  "use strict";

  // A select marked data-submit-on-change sends its form when changed (the language menu).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-submit-on-change]") && field.form) {
      field.form.submit();
    }
  });

  // <time data-countdown="ISO"> counts down to its moment each second ("12:04", then
  // "overdue"), so a lead's SLA reads right between the board's refreshes.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      if (left <= 0) {
        el.textContent = el.getAttribute("data-overdue") || "0:00";
        el.classList.add("overdue");
        return;
      }
      var minutes = Math.floor(left / 60), seconds = left % 60;
      el.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });
})();
