// Passkeys on MCP Tray's public pages: create one (enrolment link), or use one on the waiting page,
// then send the owner's choices. The server checks everything; this only carries the WebAuthn data.
(function () {
  "use strict";
  var state = document.getElementById("passkey-state");

  function say(text, failed) {
    if (!state) { return; }
    state.textContent = text;
    state.classList.toggle("failed", !!failed);
  }

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i += 1) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.error_description || ("the server answered " + r.status)); }
        return data;
      });
    });
  }

  function descriptors(list) {
    return (list || []).map(function (d) { return { type: d.type, id: fromB64url(d.id), transports: d.transports }; });
  }

  function credentialJson(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) { response.transports = r.getTransports(); }
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) { response.userHandle = toB64url(r.userHandle); }
    }
    return { id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response: response,
             clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {} };
  }

  function unsupported() {
    if (window.PublicKeyCredential && navigator.credentials) { return false; }
    say("This browser cannot use passkeys. Answer another way (see below).", true);
    return true;
  }

  function failure(err) {
    var text = err && err.name === "NotAllowedError" ? "The passkey step was cancelled or timed out." :
      (err && err.message ? err.message : String(err));
    say(text, true);
  }

  // Enrolment page: create the passkey.
  var enroll = document.querySelector("main.enroll");
  if (enroll) {
    var token = enroll.getAttribute("data-token");
    var create = document.getElementById("passkey-enroll");
    create.addEventListener("click", function () {
      if (unsupported()) { return; }
      create.disabled = true;
      say("Follow your device's prompt…");
      post("/passkeys/enroll/options", { t: token }).then(function (o) {
        o.challenge = fromB64url(o.challenge);
        o.user.id = fromB64url(o.user.id);
        o.excludeCredentials = descriptors(o.excludeCredentials);
        return navigator.credentials.create({ publicKey: o });
      }).then(function (cred) {
        return post("/passkeys/enroll/verify", { t: token, credential: credentialJson(cred) });
      }).then(function (done) {
        enroll.classList.add("ok");
        say("The passkey “" + done.name + "” is ready. You can close this page.");
      }).catch(function (err) { create.disabled = false; failure(err); });
    });
    return;
  }

  // Waiting page: prove it is the owner, then choose (approve) or answer at once (deny).
  var box = document.getElementById("passkey");
  if (box) {
    var wait = box.getAttribute("data-wait");
    var buttons = box.querySelectorAll("button");
    var run = function (deny) {
      if (unsupported()) { return; }
      for (var i = 0; i < buttons.length; i += 1) { buttons[i].disabled = true; }
      say("Follow your device's prompt…");
      post("/passkeys/approve/options", { wait: wait }).then(function (o) {
        o.challenge = fromB64url(o.challenge);
        o.allowCredentials = descriptors(o.allowCredentials);
        return navigator.credentials.get({ publicKey: o });
      }).then(function (cred) {
        return post("/passkeys/approve/verify", { wait: wait, credential: credentialJson(cred) });
      }).then(function (done) {
        if (!deny) { window.location.assign(done.next); return null; }
        return post("/passkeys/approve", { wait: wait, action: "deny" }).then(function (answer) {
          window.location.replace(answer.next);
        });
      }).catch(function (err) {
        for (var i = 0; i < buttons.length; i += 1) { buttons[i].disabled = false; }
        failure(err);
      });
    };
    document.getElementById("passkey-approve").addEventListener("click", function () { run(false); });
    document.getElementById("passkey-deny").addEventListener("click", function () { run(true); });
    return;
  }

  // After the passkey step: the owner's choices, sent with the session the step left.
  var form = document.getElementById("passkey-choices");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var action = event.submitter && event.submitter.value === "deny" ? "deny" : "allow";
      var scopes = [];
      var boxes = form.querySelectorAll("input[name=scope]:checked");
      for (var i = 0; i < boxes.length; i += 1) { scopes.push(boxes[i].value); }
      var body = { wait: form.getAttribute("data-wait"), action: action, scopes: scopes,
                   lifetime: document.getElementById("lifetime").value };
      say(action === "allow" ? "Allowing…" : "Denying…");
      post("/passkeys/approve", body).then(function (answer) {
        window.location.replace(answer.next);
      }).catch(function (err) { failure(err); });
    });
  }
})();
