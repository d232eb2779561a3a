/* SeatLock seat map: seat clicks through htmx, countdown, skip unchanged polls, keep focus,
   arrow-key navigation. No inline script anywhere: this file is all the page runs besides htmx. */
(function () {
  "use strict";

  var lastEtag = null;
  var focusedSeat = null;
  var timer = null;

  function announce(text) {
    var status = document.getElementById("seat-status");
    if (status) { status.textContent = text; }
  }

  function startCountdown() {
    var box = document.querySelector("#basket .countdown[data-seconds-left]");
    if (timer) { clearInterval(timer); timer = null; }
    if (!box) { return; }
    var deadline = Date.now() + parseInt(box.dataset.secondsLeft, 10) * 1000;
    var clocks = document.querySelectorAll("#basket .countdown-clock, #basket .basket-bar-clock");
    var warned = false;
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var minutes = Math.floor(left / 60), seconds = left % 60;
      clocks.forEach(function (clock) { clock.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds; });
      if (left <= 60 && !warned) {
        warned = true;
        box.classList.add("text-danger", "fw-bold");
        announce(box.dataset.warning || "One minute left to pay for your seats.");
      }
      if (left === 0) {
        clearInterval(timer); timer = null;
        box.classList.add("d-none");
        var basket = document.getElementById("basket");
        var expired = basket.querySelector(".countdown-expired");
        if (expired) { expired.classList.remove("d-none"); announce(expired.textContent); }
        basket.querySelectorAll("[data-basket-seat], form, [data-basket-bar]").forEach(function (el) { el.remove(); });
        // The total of seats no longer held would be a price for nothing: it goes too.
        var total = basket.querySelector("[data-basket-total]");
        if (total) { (total.closest("p") || total).remove(); }
        document.body.dispatchEvent(new Event("seatmap-refresh"));
      }
    }
    tick();
    timer = setInterval(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var map = document.getElementById("seat-map");
    if (map) { lastEtag = weak(map.dataset.etag) || null; }
    startCountdown();
  });

  // A seat is a plain submit button of the seat form (it works without JavaScript); with it,
  // the click goes through htmx from the button itself. Not one hx-post on the form: htmx
  // runs one request per element at a time and a queued one would post whichever button was
  // clicked last, so quick clicks on three seats would hold two.
  document.addEventListener("submit", function (event) {
    var seat = event.submitter;
    if (!window.htmx || event.target.id !== "seat-form" || !seat || !seat.dataset.seat) { return; }
    event.preventDefault();
    // A taken seat is a submit button without a name (bytes, see booking/seatmap.py): nothing to post.
    if (seat.getAttribute("aria-disabled") === "true") { return; }
    var url = seat.getAttribute("formaction") || event.target.getAttribute("action");
    window.htmx.ajax("POST", url, { source: seat, swap: "none" });
  });

  // Seats have no id (bytes): remember the focused one by its code.
  document.addEventListener("htmx:beforeRequest", function () {
    var active = document.activeElement;
    focusedSeat = active && active.dataset ? active.dataset.seat || null : null;
  });

  // A poll never races a seat click. A poll answer swapped while a hold or release is on its
  // way redraws the clicked button, and the click's answer then looks for #basket and
  // #seat-status inside that detached button's old map (htmx:oobErrorNoTarget): the seat
  // changes, the basket and the checkout form do not. So no poll leaves while a click is in
  // flight, and a poll answer whose request left before the latest click is dropped, since it
  // may predate that click. Nothing is lost: the next poll asks from the same cursor again,
  // and one goes at once when the last click has landed.
  var clicksInFlight = 0;
  var clicksSent = 0;
  var pollMissed = false;

  function isPoll(detail) { return !!detail.elt && detail.elt.id === "seat-map"; }

  // Any POST: a seat button's, and the "seats together" form's, whose answer swaps the same
  // seats, basket and status out of band (it was left out, and raced polls as clicks did).
  function isSeatClick(detail) {
    return !!detail.elt && !!detail.requestConfig && detail.requestConfig.verb === "post";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!isPoll(event.detail)) { return; }
    if (clicksInFlight > 0) { pollMissed = true; event.preventDefault(); return; }
    event.detail.xhr.seatlockClicksSent = clicksSent;
  });

  // Counted from the send to the end of the exchange ("loadend" follows htmx's own handling
  // of the answer, its swaps included, and comes on errors, aborts and timeouts too).
  document.addEventListener("htmx:beforeSend", function (event) {
    if (!isSeatClick(event.detail)) { return; }
    clicksInFlight += 1;
    clicksSent += 1;
    event.detail.xhr.addEventListener("loadend", function () {
      clicksInFlight -= 1;
      if (clicksInFlight === 0 && pollMissed) { pollSoon(); }
    });
  });

  // After the current exchange is done with: htmx queues a request its element sends meanwhile.
  function pollSoon() {
    pollMissed = false;
    setTimeout(function () { document.body.dispatchEvent(new Event("seatmap-refresh")); }, 0);
  }

  function pollOutdated(detail) {
    return clicksInFlight > 0 || detail.xhr.seatlockClicksSent !== clicksSent;
  }

  function weak(tag) { return tag ? tag.replace(/^W\//, "") : tag; }

  // The browser revalidates polls with If-None-Match itself and hands htmx the cached body
  // as a 200: swapping identical markup would only steal keyboard focus, so skip it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (isPoll(event.detail) && pollOutdated(event.detail)) {
      event.detail.shouldSwap = false;  // nor its out-of-band seats and cursor
      if (clicksInFlight > 0) { pollMissed = true; } else { pollSoon(); }
      return;
    }
    if (event.detail.target && event.detail.target.id === "seat-map") {
      var tag = weak(event.detail.xhr.getResponseHeader("ETag"));  // gzip weakens it
      if (tag && tag === lastEtag) { event.detail.shouldSwap = false; }
      if (tag) { lastEtag = tag; }
    }
  });

  function refocus() {
    if (focusedSeat && (!document.activeElement || document.activeElement === document.body)) {
      var again = document.querySelector('#seat-map [data-seat="' + focusedSeat + '"]');
      if (again) { again.focus({ preventScroll: true }); }
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "basket") { startCountdown(); }
    refocus();
  });

  // A click's answer redraws the basket with its checkout form: an address typed before
  // another seat was clicked is carried over, not lost.
  var typedEmail = "";
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "basket") {
      var email = document.getElementById("id_email");
      typedEmail = email ? email.value : "";
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "basket") {
      var email = document.getElementById("id_email");
      if (email && typedEmail && !email.value) { email.value = typedEmail; }
      startCountdown();
    }
    refocus();  // a seat swapped out of band (a hold response, a delta poll) was replaced
  });

  // Arrow keys move between seats; Home/End jump to the ends of the row.
  document.addEventListener("keydown", function (event) {
    var seat = event.target.closest && event.target.closest(".seat-grid [data-seat]");
    if (!seat) { return; }
    var row = seat.parentElement;
    var rows = Array.prototype.slice.call(document.querySelectorAll(".seat-grid > div"));
    var seatsIn = function (r) { return Array.prototype.slice.call(r.querySelectorAll("[data-seat]")); };
    var cells = function (r) { return Array.prototype.slice.call(r.children); };
    var target = null;
    var inRow = seatsIn(row);
    var index = inRow.indexOf(seat);
    if (event.key === "ArrowLeft") { target = inRow[index - 1]; }
    else if (event.key === "ArrowRight") { target = inRow[index + 1]; }
    else if (event.key === "Home") { target = inRow[0]; }
    else if (event.key === "End") { target = inRow[inRow.length - 1]; }
    else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      var column = cells(row).indexOf(seat);
      var step = event.key === "ArrowUp" ? -1 : 1;
      for (var r = rows.indexOf(row) + step; r >= 0 && r < rows.length && !target; r += step) {
        var candidates = seatsIn(rows[r]);
        var best = null, distance = Infinity;
        candidates.forEach(function (c) {
          var d = Math.abs(cells(rows[r]).indexOf(c) - column);
          if (d < distance) { distance = d; best = c; }
        });
        target = best;
      }
    }
    if (target) { event.preventDefault(); target.focus(); }
  });
})();
