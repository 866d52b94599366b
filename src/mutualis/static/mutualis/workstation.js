// The workstation test of the prerequisites page (core/site/prerequisites.html): browser
// capabilities, the clock offset with the server, and a measured download. No inline
// script: the Content-Security-Policy allows only the platform's own files.
(function () {
  "use strict";
  var section = document.getElementById("workstation-test");
  if (!section) return;
  var button = document.getElementById("run-workstation-test");
  var table = document.getElementById("workstation-results");
  var words = document.getElementById("workstation-messages").dataset;

  function show(name, text, ok) {
    var cell = table.querySelector('[data-result="' + name + '"]');
    cell.textContent = text;
    cell.dataset.ok = ok ? "true" : "false";
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) { return values[key]; });
  }

  function clockOffset() {
    var sent = Date.now();
    return fetch(section.dataset.clockUrl, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        var received = Date.now();
        // The server read its clock about half-way through the round trip.
        var offset = (sent + received) / 2 - body.now_ms;
        var seconds = (Math.abs(offset) / 1000).toFixed(1);
        var direction = offset >= 0 ? words.ahead : words.behind;
        var text = format(words.offset, { seconds: seconds, direction: direction });
        var ok = Math.abs(offset) < 2000;
        show("clock", ok ? text : text + " " + words.offsetWarning, ok);
      });
  }

  function downloadSpeed() {
    var started = performance.now();
    return fetch(section.dataset.sampleUrl, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.arrayBuffer();
      })
      .then(function (body) {
        var seconds = (performance.now() - started) / 1000;
        var megabits = (body.byteLength * 8) / 1e6 / Math.max(seconds, 0.001);
        show("speed", format(words.speed, { speed: megabits.toFixed(1) }), megabits >= 1);
      });
  }

  function run() {
    button.disabled = true;
    table.hidden = false;
    show("browser", navigator.userAgent, true);
    show("cookies", navigator.cookieEnabled ? words.ok : words.missing, navigator.cookieEnabled);
    var crypto = !!(window.crypto && window.crypto.subtle);
    show("crypto", crypto ? words.ok : words.missing, crypto);
    var https = window.location.protocol === "https:" || window.location.hostname === "localhost"
      || window.location.hostname === "127.0.0.1";
    show("https", https ? words.ok : words.missing, https);
    clockOffset()
      .then(downloadSpeed)
      .catch(function () { show("speed", words.failed, false); })
      .then(function () { button.disabled = false; });
  }

  button.addEventListener("click", run);
})();
