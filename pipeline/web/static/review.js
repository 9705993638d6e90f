// Keyboard shortcuts for the reviewer pages. Any element with data-key="x" is clicked when
// "x" is pressed (outside text fields); data-key-focus="n" focuses that field instead.
// Served as a static file because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  var submitted = false;
  document.addEventListener("submit", function (event) {
    // One key saves and advances: a second press while the page loads must not post again.
    if (submitted) {
      event.preventDefault();
      return;
    }
    submitted = true;
    document.body.classList.add("busy");
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = event.key.length === 1 ? event.key.toLowerCase() : "";
    if (!key) return;
    var field = document.querySelector('[data-key-focus="' + key + '"]');
    if (field) {
      event.preventDefault();
      field.focus();
      return;
    }
    var button = document.querySelector('[data-key="' + key + '"]');
    if (button && !button.disabled) {
      event.preventDefault();
      button.classList.add("pressed");
      button.click();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
    });
  });
})();
