/* shoprec app embed: reports the shop's add-to-carts to shoprec through the app proxy.
 * Themes add to the cart two ways, and both are seen:
 *  - fetch() to /cart/add(.js) (Dawn and most Online Store 2.0 themes): Shopify's answer names
 *    the product(s) added, so any page's quick-add is reported with the right product;
 *  - a plain <form action="/cart/add"> post (the page then navigates): the product page's own
 *    product is reported when the posted variant is one of its variants.
 *  - XMLHttpRequest to /cart/add.js (older jQuery themes): the same answer, read the same way.
 * The same rules as widget.js: never throw, never block the theme, and report only when the
 * shopper's ids exist (widget.js keeps them only with the page's analytics consent) and
 * Shopify's Customer Privacy API, where the page has it, allows analytics.
 * The embed also loads that API (Shopify.loadFeatures "consent-tracking-api") when the theme
 * did not, and asks widget.js to look again once it is there and whenever the shopper answers
 * the cookie banner (visitorConsentCollected): the product view waiting for consent goes then. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.shoprecCartReporting) return;
  window.shoprecCartReporting = true;
  // The app proxy's path: Shopify names and signs the shop, so events leave `shop` empty.
  var api = (me.getAttribute("data-api") || "/apps/shoprec").replace(/\/+$/, "");
  var pageProduct = me.getAttribute("data-product-id") || "";
  var pageVariants = (me.getAttribute("data-variant-ids") || "").split(",");

  function noop() {}

  function analyticsAllowed() {
    try {
      var privacy = window.Shopify && window.Shopify.customerPrivacy;
      if (privacy && typeof privacy.analyticsProcessingAllowed === "function") return privacy.analyticsProcessingAllowed() === true;
      return true;
    } catch (e) { return false; }
  }

  function shopperIds() {
    try {
      var visitor = localStorage.getItem("shoprec_vid"), session = sessionStorage.getItem("shoprec_sid");
      return visitor && session ? { visitor: visitor, session: session } : null;
    } catch (e) { return null; }
  }

  function report(productIds) {
    var who = shopperIds();
    if (!who || !productIds.length || !analyticsAllowed()) return;
    var events = productIds.map(function (id) {
      return { shop: "", type: "add_to_cart", product_id: String(id), session_id: who.session, visitor_id: who.visitor };
    });
    var url = api + "/api/v1/events", body = JSON.stringify(events.length === 1 ? events[0] : events);
    try { if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return; } catch (e) { /* fall through */ }
    try { fetch(url, { method: "POST", body: body, keepalive: true, credentials: "same-origin", headers: { "Content-Type": "text/plain" } }).catch(noop); } catch (e) { /* offline */ }
  }

  function isCartAdd(url) {
    try { return /\/cart\/add(\.js)?$/.test(new URL(String(url), location.href).pathname); } catch (e) { return false; }
  }

  // /cart/add.js answers the added line, or {items: [...]} when several were added.
  function productsOf(answer) {
    var lines = answer && Array.isArray(answer.items) ? answer.items : [answer], seen = [];
    lines.forEach(function (line) {
      var id = line && line.product_id;
      if (id && seen.indexOf(String(id)) < 0) seen.push(String(id));
    });
    return seen;
  }

  var themeFetch = window.fetch;
  if (typeof themeFetch === "function") {
    window.fetch = function (input) {
      var answer = themeFetch.apply(window, arguments);
      try {
        var url = typeof input === "string" || input instanceof URL ? input : input && input.url;
        if (isCartAdd(url)) {
          answer.then(function (response) {
            if (response.ok) response.clone().json().then(function (body) { report(productsOf(body)); }, noop);
          }, noop);
        }
      } catch (e) { /* the theme's request goes on untouched */ }
      return answer;
    };
  }

  if (window.XMLHttpRequest && XMLHttpRequest.prototype) {
    var open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (method, url) {
      try {
        if (isCartAdd(url)) {
          this.addEventListener("load", function () {
            try { if (this.status >= 200 && this.status < 300) report(productsOf(JSON.parse(this.responseText))); } catch (e) { /* not JSON */ }
          });
        }
      } catch (e) { /* the theme's request goes on untouched */ }
      return open.apply(this, arguments);
    };
  }

  // Bubbling phase: a theme that posts the form itself has called preventDefault by now, and
  // its fetch is reported above; only a real navigation is left.
  document.addEventListener("submit", function (event) {
    try {
      var form = event.target;
      if (event.defaultPrevented || !form || !isCartAdd(form.getAttribute("action") || "")) return;
      var variant = form.elements.id ? String(form.elements.id.value) : "";
      if (pageProduct && (!variant || pageVariants.indexOf(variant) >= 0)) report([pageProduct]);
    } catch (e) { /* never in the theme's way */ }
  });

  function rescan() {
    try { if (window.shoprec && typeof window.shoprec.scan === "function") window.shoprec.scan(); } catch (e) { /* widget absent */ }
  }
  document.addEventListener("visitorConsentCollected", rescan);
  try {
    var shopify = window.Shopify;
    if (shopify && !shopify.customerPrivacy && typeof shopify.loadFeatures === "function") {
      shopify.loadFeatures([{ name: "consent-tracking-api", version: "0.1" }], function (error) { if (!error) rescan(); });
    }
  } catch (e) { /* no consent API: widget.js falls back to the page's own consent flag */ }
})();
