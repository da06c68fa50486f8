// The interactive API documentation (Swagger UI, served from this site). A file, not an inline
// script, so that the site's Content-Security-Policy (script-src 'self') applies unchanged.
(function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // never send the document to a validator on another host
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    // From 150 entries (tags + operations) on, Swagger UI keeps only the operations near the
    // viewport in the page (a virtualised list; ours has about 200), so the browser's
    // find-in-page cannot reach the others: the filter box can, by tag or by path.
    filter: true,
    tryItOutEnabled: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: function () {
      // Swagger UI has no translations: name its filter box in Chinese (React keeps these, as
      // its own props for them never change).
      var filter = root.querySelector(".operation-filter-input");
      if (filter) {
        filter.setAttribute("aria-label", "按分组或路径筛选接口");
        filter.setAttribute("placeholder", "按分组或路径筛选接口，如：十百千、result-notices");
      }
    },
  });
})();
