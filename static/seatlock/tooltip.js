/* SeatLock seat tooltip: hovering, focusing or tapping a seat shows its row and number, its
   category, price and state. One element for the whole map, filled from the phrases the
   seat's accessible name is joined from (#seat-names, see booking/seatmap.py), so a seat
   carries no markup for it. Screen readers hear the same words as the seat's name, so the
   tooltip is hidden from them. Escape, a tap elsewhere or scrolling hides it. */
(function () {
  "use strict";

  var tip = null, shown = null;  // the code of the seat the tooltip is about

  function phrase(id) {
    var el = document.getElementById(id);
    return el ? el.textContent.trim().replace(/,$/, "") : "";
  }

  function seatOf(target) {
    return target && target.closest ? target.closest("#seat-map [data-seat]") : null;
  }

  function show(seat) {
    var ids = (seat.getAttribute("aria-labelledby") || "").split(" ");
    if (ids.length < 3) { return; }
    if (!tip) {
      tip = document.createElement("div");
      tip.id = "seat-tip";
      tip.className = "seat-tip";
      tip.setAttribute("aria-hidden", "true");
      document.body.appendChild(tip);
    }
    var head = document.createElement("strong");
    head.textContent = phrase(ids[0]) + ", " + phrase(ids[1]);
    var rest = document.createElement("span");
    rest.textContent = phrase(ids[2]);
    tip.replaceChildren(head, rest);
    tip.hidden = false;
    shown = seat.dataset.seat;
    place(seat);
  }

  // Above the seat, or below it at the top of the screen; never past the screen's sides.
  function place(seat) {
    var box = seat.getBoundingClientRect();
    var top = box.top - tip.offsetHeight - 6;
    if (top < 4) { top = box.bottom + 6; }
    var left = box.left + box.width / 2 - tip.offsetWidth / 2;
    left = Math.max(4, Math.min(left, document.documentElement.clientWidth - tip.offsetWidth - 4));
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }

  function hide() {
    if (tip) { tip.hidden = true; }
    shown = null;
  }

  document.addEventListener("mouseover", function (event) {
    var seat = seatOf(event.target);
    if (seat) { show(seat); }
  });
  document.addEventListener("mouseout", function (event) {
    if (seatOf(event.target) && !seatOf(event.relatedTarget)) { hide(); }
  });
  document.addEventListener("focusin", function (event) {
    var seat = seatOf(event.target);
    if (seat) { show(seat); } else { hide(); }
  });
  // A tap shows it (and holds the seat, as a click does); a tap anywhere else hides it.
  document.addEventListener("pointerdown", function (event) {
    var seat = seatOf(event.target);
    if (seat) { show(seat); } else { hide(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { hide(); }
  });
  document.addEventListener("scroll", hide, true);

  // A hold or a poll replaced the seat: tell its new state.
  function refresh() {
    if (!shown) { return; }
    var seat = document.querySelector('#seat-map [data-seat="' + shown + '"]');
    if (seat) { show(seat); } else { hide(); }
  }
  document.addEventListener("htmx:oobAfterSwap", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();
