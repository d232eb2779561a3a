/* SeatLock box office: confirmation dialogs and the check-in scanner loop. Every page works
   without this file (the dialog's link opens a confirmation page, the check-in form posts and
   the page comes back with an empty, focused field); it only makes a queue faster. */
(function () {
  "use strict";

  // A link with data-dialog="<id>" opens that <dialog> instead of its confirmation page.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-dialog]");
    if (!link) { return; }
    var dialog = document.getElementById(link.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") { return; }  // old browser: the page
    event.preventDefault();
    dialog.showModal();
    var first = dialog.querySelector("input:not([type=hidden]), textarea, select");
    if (first) { first.focus(); }
  });

  // Check-in: a USB scanner types the code and Enter, ticket after ticket, without waiting
  // for answers. Each scan's code is read and the field emptied and refocused at once, so the
  // next scan lands in an empty field; scans go to the server one after the other, in order.
  var queue = Promise.resolve();
  var waiting = 0;

  function pending(change) {
    waiting += change;
    var note = document.getElementById("check-in-pending");
    if (note) { note.hidden = waiting === 0; }
  }

  function showResult(html) {
    var current = document.getElementById("check-in-result");
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#check-in-result");
    if (current && fresh) { current.replaceWith(fresh); }
  }

  function scan(form, body) {
    return fetch(form.action, {
      method: "POST",
      body: body,
      headers: { "HX-Request": "true" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.text();
    }).then(showResult, function () {
      showResult('<div id="check-in-result" role="status" aria-live="assertive"><div class="check-in check-in--error">' +
        (form.dataset.offline || "No answer from the server: scan again.") + "</div></div>");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "check-in-form" || !window.fetch) { return; }
    event.preventDefault();
    var field = form.querySelector("[name=code]");
    if (!field.value.trim()) { field.focus(); return; }
    var body = new FormData(form);
    field.value = "";
    field.focus();
    pending(1);
    queue = queue.then(function () { return scan(form, body); }).then(function () { pending(-1); });
  });

  // Whatever was clicked last (the showtime choice, the result), the next scan goes to the field.
  document.addEventListener("change", function (event) {
    if (event.target.form && event.target.form.id === "check-in-form") {
      var field = event.target.form.querySelector("[name=code]");
      if (field && event.target !== field) { field.focus(); }
    }
  });
})();
