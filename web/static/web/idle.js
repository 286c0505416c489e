/* Idle logout warning (web/idle.py decides; this only warns and offers to stay signed in).
 *
 * The server says how many seconds are left (data-remaining, then each keepalive answer).
 * Activity on the page (keys, pointer) is reported with a keepalive at most once a minute.
 * LIMS_IDLE_WARNING before the end a modal dialog counts down; "Stay signed in" sends a keepalive.
 * At the end the page is reloaded: the server has ended the session and shows the login page.
 */
(function () {
  "use strict";
  var dialog = document.getElementById("idle-logout");
  if (!dialog) { return; }
  var warningMs = Number(dialog.dataset.warning) * 1000;
  var deadline = Date.now() + Number(dialog.dataset.remaining) * 1000;
  var lastTouch = Date.now();
  var lastActivity = 0;
  var countdown = dialog.querySelector("[data-idle-countdown]");
  var stay = dialog.querySelector("[data-idle-stay]");
  var REPORT_EVERY_MS = 60 * 1000;

  function keepalive() {
    lastTouch = Date.now();
    fetch(dialog.dataset.keepalive, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (!body.signed_in) { window.location.reload(); return; }
        deadline = Date.now() + body.seconds_left * 1000;
      })
      .catch(function () { /* offline: the server decides at the next request */ });
  }

  ["keydown", "pointerdown", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function () { lastActivity = Date.now(); }, { capture: true, passive: true });
  });

  stay.addEventListener("click", function () {
    dialog.close();
    keepalive();
  });

  function tick() {
    var now = Date.now();
    if (!dialog.open && lastActivity > lastTouch && now - lastTouch >= REPORT_EVERY_MS) { keepalive(); }
    var left = deadline - now;
    if (left <= -1000) { window.location.reload(); return; }
    if (left <= warningMs) {
      if (!dialog.open) { dialog.showModal(); stay.focus(); }
      countdown.textContent = String(Math.max(0, Math.ceil(left / 1000)));
    } else if (dialog.open) {
      dialog.close();
    }
  }
  window.setInterval(tick, 1000);
})();
