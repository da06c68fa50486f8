// On the error page of a refused form post: replace the POST-only address in the address bar with
// the page the form was on (given by the server, same site only), so that reloading shows that
// page again instead of re-posting the form or answering 405. The page itself stays as it is.
(function () {
  var script = document.currentScript;
  var target = script && script.getAttribute("data-return-to");
  if (target && target.charAt(0) === "/" && target.charAt(1) !== "/" && window.history.replaceState) {
    window.history.replaceState(null, "", target);
  }
})();
