// The scan box: a scanner types the label and presses Enter. Focus belongs in the scan field
// whenever nothing else is being typed into, so the next scan never lands elsewhere.
(function () {
  "use strict";

  function field() {
    return document.querySelector("[data-scan-field]");
  }

  function isTyping(element) {
    if (!element || element === document.body) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var scan = field();
    if (!scan) return;
    // After a refused scan the field is marked invalid: focus it (again) for the next scan.
    if (scan.getAttribute("aria-invalid") === "true") {
      scan.focus();
      return;
    }
    // A page whose own form asks for focus (the bedside scan, say) keeps it: the browser gave
    // it to the first autofocus field, which is the scan box in the header.
    var own = document.querySelector("main [autofocus]");
    if (own) {
      own.focus();
    } else if (!isTyping(document.activeElement)) {
      scan.focus();
    }
  });

  // "/" (as in many web applications) brings focus to the scan field from anywhere but a text field.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(document.activeElement)) return;
    var scan = field();
    if (scan) {
      event.preventDefault();
      scan.focus();
      scan.select();
    }
  });
})();
