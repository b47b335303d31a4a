// The waiting page asks the server whether the owner has answered, then reloads itself: the reload
// answers 303 to the app with the code (or the refusal). Nothing here can approve.
(function () {
  "use strict";
  var card = document.querySelector("main.waiting");
  if (!card) { return; }
  var url = card.getAttribute("data-status-url");
  var every = parseInt(card.getAttribute("data-poll-ms"), 10) || 1000;
  var state = document.getElementById("match-state");
  var failures = 0;

  function ask() {
    fetch(url, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        failures = 0;
        if (body.status === "answered") {
          state.textContent = "Answered. Going back to the app…";
          card.classList.add("answered");
          window.location.replace(window.location.href);
          return;
        }
        if (body.status === "gone") {
          state.textContent = "This request is no longer valid. Start connecting from your app again.";
          return;
        }
        window.setTimeout(ask, every);
      })
      .catch(function () {
        failures += 1;
        if (failures === 3) { state.textContent = "Cannot reach MCP Tray; still trying…"; }
        window.setTimeout(ask, Math.min(every * (1 + failures), 10000));
      });
  }
  window.setTimeout(ask, every);
})();
