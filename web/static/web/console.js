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

// The worker pool's pages. A button marked data-locate="ID" fills its form's lat and lng from
// the phone's position (at the mobile office the recruiter often stands where the applicant
// lives) and says so in the element ID, in the words its data-located / data-failed carry.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-locate]") : null;
    if (!button || !button.form) { return; }
    var out = document.getElementById(button.getAttribute("data-locate"));
    var say = function (text) { if (out) { out.textContent = text; } };
    if (!navigator.geolocation) { say(button.getAttribute("data-failed")); return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      var lat = position.coords.latitude.toFixed(6), lng = position.coords.longitude.toFixed(6);
      button.form.elements.lat.value = lat;
      button.form.elements.lng.value = lng;
      say(button.getAttribute("data-located") + " " + lat + ", " + lng);
    }, function () { say(button.getAttribute("data-failed")); });
  });
})();
