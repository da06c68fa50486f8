/* scenematch — progressive enhancements only; every page works without this file.
   Served from /static (the CSP allows scripts from the site itself, never inline). */
(function () {
  "use strict";
  // Wide screens show the menu and the filter panel whether or not their <details> is open (the
  // stylesheet does it with ::details-content). Browsers without that selector get them opened here.
  var supportsDetailsContent = window.CSS && CSS.supports && CSS.supports("selector(::details-content)");
  function openOnWideScreens(root) {
    if (supportsDetailsContent || !window.matchMedia("(min-width: 761px)").matches) return;
    root.querySelectorAll("details.nav-menu, details.facet-toggle").forEach(function (d) { d.open = true; });
  }
  document.addEventListener("DOMContentLoaded", function () { openOnWideScreens(document); });
  document.addEventListener("htmx:afterSwap", function (event) { openOnWideScreens(event.target); });
})();
