/* Names for the admin widgets that Django's JavaScript draws without one (axe: label,
   aria-input-field-name, aria-prohibited-attr): the autocomplete boxes (select2) take the label
   of the field they stand for, and the chooser's filter icons get the role their aria-label needs.
   Without JavaScript none of these widgets exist: the plain selects carry their labels. */
(function () {
  "use strict";

  function labelText(select) {
    var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    return label ? label.textContent.replace(/:\s*$/, "").trim() : "";
  }

  function nameWidgets(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var container = select.nextElementSibling;
      var name = labelText(select);
      if (!name || !container || !container.classList.contains("select2")) {
        return;
      }
      container.querySelectorAll('[role="combobox"], [role="textbox"], .select2-search__field').forEach(function (el) {
        if (el.getAttribute("aria-label") !== name) {
          el.setAttribute("aria-label", name);
        }
      });
    });
    // select2 puts its "clear all" cross inside the list of chosen items (axe: list): beside it.
    root.querySelectorAll(".select2-selection__rendered > .select2-selection__clear").forEach(function (el) {
      el.parentNode.parentNode.insertBefore(el, el.parentNode);
    });
    root.querySelectorAll(".help-tooltip[aria-label]:not([role])").forEach(function (el) {
      el.setAttribute("role", "img");
    });
  }

  function start() {
    nameWidgets(document);
    new MutationObserver(function () {
      nameWidgets(document);
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
