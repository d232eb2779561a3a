/* SeatLock seat map size: fit the hall to the width, zoom with + / − / Fit, and the phone
   basket bar's "Continue". The sizes live on #seat-scroller, outside the polled #seat-map,
   so a poll that swaps the map keeps them (and the scroll position). Browser pinch zoom is
   left alone: this only changes how big the seats are drawn. */
(function () {
  "use strict";

  var MAX = 48;         // px: zooming in stops here
  var ZOOMED_MIN = 24;  // px: the first zoom in from a fitted big hall lands at least here
  var STEP = 1.5;
  var GAP = 0.12;       // the gap between seats, as a share of the seat
  var TINY = 18;        // below this, seats show no number (.is-tiny)

  var scroller = null, controls = null, natural = 34, size = 34, fitted = true, lastWidth = 0;

  function labelWidth(seat) { return Math.max(14, Math.min(24, Math.round(seat * 0.75))); }

  function columns() {
    var most = 0;
    scroller.querySelectorAll(".seat-grid > div").forEach(function (row) {
      most = Math.max(most, row.children.length);
    });
    return most;
  }

  // The seat size at which the widest row, its two letters and the gaps fill the width:
  // 2 labels + n seats + (n + 1) gaps (flex gaps also sit beside the letters).
  function fitSize() {
    var n = columns(), width = scroller.clientWidth - 2, seat = natural;
    if (!n) { return natural; }
    for (var i = 0; i < 3; i++) { seat = (width - 2 * labelWidth(seat)) / (n + GAP * (n + 1)); }
    return Math.max(4, Math.min(natural, Math.floor(seat * 10) / 10));
  }

  function apply(seat) {
    size = seat;
    scroller.style.setProperty("--seat-size", seat + "px");
    scroller.style.setProperty("--seat-gap", (seat * GAP).toFixed(2) + "px");
    scroller.style.setProperty("--row-label", labelWidth(seat) + "px");
    scroller.classList.toggle("is-tiny", seat < TINY);
    scroller.dataset.zoom = fitted ? "fit" : String(Math.round(seat));
    var fit = fitSize();
    button("out").disabled = fitted || seat <= fit;
    button("in").disabled = seat >= MAX;
    button("fit").setAttribute("aria-pressed", fitted ? "true" : "false");
  }

  function button(which) { return controls.querySelector('[data-zoom="' + which + '"]'); }

  // Zoom around the middle of what is in view, so the seats looked at stay in view.
  function zoomTo(seat, fit) {
    var middle = (scroller.scrollLeft + scroller.clientWidth / 2) / scroller.scrollWidth;
    fitted = fit;
    apply(seat);
    scroller.scrollLeft = middle * scroller.scrollWidth - scroller.clientWidth / 2;
  }

  function zoom(which) {
    var fit = fitSize();
    if (which === "in") {
      zoomTo(Math.min(MAX, Math.max(ZOOMED_MIN, size * STEP, fit)), false);
    } else if (which === "out" && size / STEP > fit * 1.05) {
      zoomTo(size / STEP, false);
    } else {
      zoomTo(fit, true);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    scroller = document.getElementById("seat-scroller");
    controls = document.querySelector(".seat-zoom");
    if (!scroller || !controls) { return; }
    var seat = scroller.querySelector("[data-seat]");
    if (seat) { natural = size = seat.getBoundingClientRect().width; }
    controls.hidden = false;
    controls.addEventListener("click", function (event) {
      var target = event.target.closest("[data-zoom]");
      if (target) { zoom(target.dataset.zoom); }
    });
    lastWidth = scroller.clientWidth;
    apply(fitSize());
    // A turned phone or a resized window: a fitted map fits again (its height changes
    // with every zoom, so only a change of width counts).
    new ResizeObserver(function () {
      if (scroller.clientWidth === lastWidth) { return; }
      lastWidth = scroller.clientWidth;
      if (fitted) { apply(fitSize()); } else { apply(size); }
    }).observe(scroller);
  });

  // The phone bar's "Continue": to the email field of the checkout form, ready to type.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-basket-continue]");
    var email = document.getElementById("id_email");
    if (!link || !email) { return; }
    event.preventDefault();
    email.scrollIntoView({ block: "center" });
    email.focus({ preventScroll: true });
  });
})();
