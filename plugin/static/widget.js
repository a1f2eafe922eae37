/* shoprec widget: fills <div data-shoprec="product" data-shop="..."> placeholders with
 * recommendation cards from /api/v1/recommendations, and reports impressions, clicks and
 * dismissals to /api/v1/events. Rules it keeps, because it runs on someone else's page:
 * never throw, never show error text, never move the page (space is reserved up front),
 * and never parse data as markup (titles are untrusted text: textContent only).
 *
 * Embed (reserve the height in your own CSS too, e.g. [data-shoprec]{min-height:340px}):
 *   <div data-shoprec="product" data-shop="myshop" data-product-id="p001" data-slot="similar"
 *        data-limit="6" data-format="scroll|grid|carousel" data-min-height="340"
 *        data-customer-token="(signed by the shop's server, when logged in)"
 *        data-consent="true|false" data-currency="EUR" data-title="(heading)"></div>
 *   data-title and data-format default to the shop's slot titles and format (admin settings).
 *   data-currency: the ISO 4217 code prices are shown in (Intl) and reported to analytics;
 *   data-locale: how they are written (en-GB, de-DE). Unset, the shop's own currency and
 *   locale (admin settings) apply, else plain numbers.
 * Analytics: each list shown pushes a GA4 `view_item_list` (item_list_id = the slot) into
 * window.dataLayer and each click a `select_item`; the same objects are dispatched as DOM
 * events `shoprec:view_item_list` / `shoprec:select_item` on the widget element.
 *   data-customer-id is believed only by a shop whose identity setting is "open".
 *   cart: data-shoprec="cart" data-product-ids="p001,p002"; home: data-shoprec="home".
 *   <script src="https://YOUR-SHOPREC/static/widget.js" async></script>
 * The API is the script's own origin unless data-api="https://..." says otherwise.
 * One page, no repeats: every widget asks at once (for its limit plus what the widgets above
 * it will show, within the context's maximum), and renders in page order without the products
 * a widget above it shows; a list left short by that is asked again with those products as
 * `exclude`, so the server fills it under its own rules. data-repeats="allow" keeps a widget
 * out of it (it neither skips nor is skipped).
 * Placement tests: mark each candidate position of one list with data-placement="<name>"
 * (and the usual one with data-placement-default). A visitor in a placement experiment sees
 * the list only at the position their variant names; anyone else at the default one.
 * Consent first: the widget keeps ids and sends events only when the page grants analytics
 * consent: Shopify's Customer Privacy API (analyticsProcessingAllowed()) where present, else
 * data-consent="true" on the element, else window.shoprecConsent === true. Then a random
 * first-party visitor id (localStorage; a per-page id where storage is blocked) goes with
 * every request and event (dismissals outlast the session, experiments stay sticky), and the
 * customer token with requests. Without consent it still shows the shop's non-personal
 * lists: nothing is stored, no event is sent, no id or token leaves the page. */
(function () {
  "use strict";
  var script = document.currentScript;
  var TIMEOUT_MS = 3000;
  var CSS =
    ".shoprec{font:inherit;color:inherit;box-sizing:border-box}" +
    ".shoprec *{box-sizing:border-box}" +
    ".shoprec-title{font-size:1.15em;margin:0 0 .6em;font-weight:600;height:1.4em;overflow:hidden}" +
    ".shoprec-list{list-style:none;margin:0;padding:0 0 6px;display:flex;gap:14px}" +
    ".shoprec-scroll .shoprec-list{overflow-x:auto;scroll-snap-type:x mandatory}" +
    ".shoprec-grid .shoprec-list{flex-wrap:wrap}" +
    ".shoprec-card{position:relative;flex:0 0 168px;width:168px;scroll-snap-align:start;" +
    "border:1px solid rgba(0,0,0,.1);border-radius:10px;padding:8px;background:#fff}" +
    ".shoprec-link{display:block;color:inherit;text-decoration:none}" +
    ".shoprec-link:focus-visible,.shoprec-x:focus-visible{outline:2px solid #2563eb;outline-offset:2px}" +
    ".shoprec-img{display:block;width:150px;height:150px;object-fit:cover;border-radius:6px;" +
    "background:#f3f4f6}" +
    ".shoprec-name{display:block;margin-top:6px;height:2.6em;line-height:1.3em;overflow:hidden;" +
    "font-size:.92em}" +
    ".shoprec-price{display:block;font-weight:600;height:1.4em;margin-top:2px}" +
    ".shoprec-reason{display:block;font-size:.78em;opacity:.7;height:2.5em;line-height:1.25em;" +
    "overflow:hidden}" +
    ".shoprec-x{position:absolute;top:4px;right:4px;width:28px;height:28px;border:0;" +
    "border-radius:50%;background:rgba(255,255,255,.9);cursor:pointer;font-size:18px;" +
    "line-height:28px;padding:0;color:#333}" +
    ".shoprec-carousel{position:relative}" +
    ".shoprec-carousel .shoprec-list{overflow-x:auto;scroll-snap-type:x mandatory;scrollbar-width:none}" +
    ".shoprec-carousel .shoprec-list::-webkit-scrollbar{display:none}" +
    ".shoprec-nav{position:absolute;top:45%;width:36px;height:36px;border:1px solid rgba(0,0,0,.2);" +
    "border-radius:50%;background:#fff;cursor:pointer;font-size:22px;line-height:32px;padding:0;color:#333}" +
    ".shoprec-nav:disabled{opacity:.3;cursor:default}.shoprec-prev{left:-8px}.shoprec-next{right:-8px}" +
    ".shoprec-nav:focus-visible,.shoprec-list:focus-visible{outline:2px solid #2563eb}";

  function noop() {}

  // The widgets of this page in the order they render: each waits for the ones above it.
  var page = { shown: {}, planned: 0, last: Promise.resolve() };
  var DEFAULT_LIMIT = 8;  // the API's default list length (SHOPREC_DEFAULT_LIMIT)
  var MAX_ASKED = 24;     // the API cuts a list to its context's maximum anyway
  var MAX_EXCLUDED = 50;  // the API's cap on exclude ids

  function randomId() {
    var bytes = new Uint8Array(16);
    try { crypto.getRandomValues(bytes); } catch (e) {
      for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function kept(kind, key) {
    try {
      var store = window[kind], value = store.getItem(key);
      if (!value) { value = randomId(); store.setItem(key, value); }
      return value;
    } catch (e) { return randomId(); }
  }

  function readList(key) {
    try { var v = JSON.parse(localStorage.getItem(key) || "[]"); return Array.isArray(v) ? v : []; } catch (e) { return []; }
  }

  function writeList(key, list) {
    try { localStorage.setItem(key, JSON.stringify(list.slice(-100))); } catch (e) { /* storage full or blocked */ }
  }

  function attr(el, name) { return el.getAttribute("data-" + name) || ""; }

  // Whether the page lets us keep ids and send events; asked at each use, so a shopper who
  // accepts the cookie banner later is counted from then on.
  function consented(node) {
    try {
      var privacy = window.Shopify && window.Shopify.customerPrivacy;
      if (privacy && typeof privacy.analyticsProcessingAllowed === "function") return privacy.analyticsProcessingAllowed() === true;
    } catch (e) { return false; }
    var own = node ? attr(node, "consent") : "";
    if (own) return own === "true";
    return window.shoprecConsent === true;
  }

  // The ids are made on first consented use only: without consent nothing is written.
  var ids = null;
  function shopperIds(node) {
    if (!consented(node)) return null;
    if (!ids) ids = { visitor: kept("localStorage", "shoprec_vid"), session: kept("sessionStorage", "shoprec_sid") };
    return ids;
  }

  function toggle(key, value, on) {
    var list = readList(key), at = list.indexOf(value);
    if (on === at >= 0) return;
    if (on) list.push(value); else list.splice(at, 1);
    writeList(key, list);
  }

  function apiBase(el) {
    var explicit = attr(el, "api") || (script && script.getAttribute("data-api")) || "";
    try {
      // An explicit data-api keeps its path: data-api="/apps/shoprec" is a Shopify shop's app
      // proxy, same-origin, so requests carry the shop's cookies and Shopify signs who is
      // logged in (requests are "same-origin": another origin still gets no cookies).
      var url = new URL(explicit || (script && script.src) || location.href, location.href);
      return explicit ? url.origin + url.pathname.replace(/\/+$/, "") : url.origin;
    } catch (e) { return location.origin; }
  }

  // Only http(s) links and images: a catalog url of "javascript:..." must never become a link.
  // An empty url is no url (resolved, it would be the API's own origin: "https://api/").
  function safeUrl(raw, base) {
    var text = String(raw || "").trim();
    if (!text) return null;
    try {
      var url = new URL(text, base);
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch (e) { return null; }
  }

  function send(base, events) {
    var url = base + "/api/v1/events", body = JSON.stringify(events.length === 1 ? events[0] : events);
    try { if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return; } catch (e) { /* fall through */ }
    try { fetch(url, { method: "POST", body: body, keepalive: true, credentials: "same-origin", headers: { "Content-Type": "text/plain" } }).catch(noop); } catch (e) { /* offline */ }
  }

  function getJSON(url) {
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, TIMEOUT_MS);
    return fetch(url, { credentials: "same-origin", signal: ctrl ? ctrl.signal : undefined }).then(function (r) {
      clearTimeout(timer);
      if (!r.ok) throw new Error("status " + r.status);
      return r.json();
    }, function (err) { clearTimeout(timer); throw err; });
  }

  // The page's data-currency/data-locale win, else the shop's (the answer's widget object).
  function formatPrice(value, currency, locale) {
    var n = Number(value);
    if (!isFinite(n)) return "";
    if (currency) {
      try { return new Intl.NumberFormat(locale || document.documentElement.lang || undefined, { style: "currency", currency: currency }).format(n); } catch (e) { /* unknown currency */ }
    }
    return n.toFixed(2);
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function addStyle() {
    if (document.getElementById("shoprec-style")) return;
    var style = el("style");
    style.id = "shoprec-style";
    style.textContent = CSS;
    (document.head || document.documentElement).appendChild(style);
  }

  // GA4 and tag managers: the list as an ecommerce view_item_list / select_item in the page's
  // dataLayer (item_list_id = the slot), and the same as a DOM event on the widget element
  // (shoprec:view_item_list, shoprec:select_item) for shops that read events instead.
  // Titles are data here, never markup. Nothing personal is pushed.
  function analyticsItems(items, answer, title, currency) {
    return items.map(function (item, index) {
      var entry = { item_id: String(item.product_id), item_name: String(item.title || ""),
        index: index, item_list_id: answer.slot, item_list_name: title || answer.slot };
      var price = Number(item.price);
      if (item.price !== null && item.price !== undefined && isFinite(price)) entry.price = price;
      if (currency) entry.currency = currency;
      return entry;
    });
  }

  function announce(box, name, answer, title, items) {
    var ecommerce = { item_list_id: answer.slot, item_list_name: title || answer.slot, items: items };
    var payload = { event: name, ecommerce: ecommerce };
    try {
      var layer = window.dataLayer = window.dataLayer || [];
      layer.push({ ecommerce: null });  // GA4: clear the previous ecommerce object first
      layer.push(payload);
    } catch (e) { /* a page's own dataLayer that refuses pushes must not break the widget */ }
    try {
      box.dispatchEvent(new CustomEvent("shoprec:" + name, { bubbles: true, detail: payload }));
    } catch (e) { /* very old browsers: no CustomEvent */ }
  }

  function render(box, answer, ctx) {
    var dismissed = readList("shoprec_dismissed");
    var items = (answer.items || []).filter(function (it) { return dismissed.indexOf(it.product_id) < 0; });
    if (!items.length) return release(box);
    addStyle();
    // The page's own data-title/data-format win; else the shop's choices from the admin.
    var shown = answer.widget || {};
    var currency = attr(box, "currency") || shown.currency || "";
    var locale = attr(box, "locale") || (attr(box, "currency") ? "" : shown.locale || "");
    var title = attr(box, "title") || shown.title || "";
    // ...except a display experiment's layout, which must be what its visitors see.
    var fmt = shown.format_assigned ? shown.format : (attr(box, "format") || shown.format);
    fmt = fmt === "grid" || fmt === "carousel" ? fmt : "scroll";
    var exp = answer.experiment || null;
    var section = el("section", "shoprec shoprec-" + fmt);
    section.setAttribute("aria-label", title || "Recommendations");
    if (title) section.appendChild(el("h2", "shoprec-title", title));
    var list = el("ul", "shoprec-list");
    list.setAttribute("role", "list");
    var seen = typeof IntersectionObserver === "function" ? new IntersectionObserver(function (entries) {
      var batch = [];
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        seen.unobserve(entry.target);
        batch.push(entry.target.shoprecEvent("impression"));
      });
      if (batch.length) send(ctx.base, batch);
    }, { threshold: 0.5 }) : null;
    if (!ctx.ids) seen = null;  // no consent: no impressions
    var tracked = analyticsItems(items, answer, title, currency);
    items.forEach(function (item, index) {
      var position = item.position || index + 1;
      var strategy = item.strategy || "";
      var li = el("li", "shoprec-card");
      li.setAttribute("role", "listitem");
      li.setAttribute("data-product-id", String(item.product_id));
      li.shoprecEvent = function (type) {
        return { shop: answer.shop, type: type, product_id: item.product_id, customer_id: ctx.customerId || null,
          customer_token: ctx.customerToken || null, session_id: ctx.ids.session, visitor_id: ctx.ids.visitor,
          request_id: answer.request_id, context: answer.context,
          slot: answer.slot, strategy: strategy || null, position: position,
          experiment_id: exp ? exp.id : null, variant: exp ? exp.variant : null };
      };
      var link = el("a", "shoprec-link");
      var href = safeUrl(item.url, ctx.base);
      if (href) {
        href.searchParams.set("shoprec_rid", answer.request_id);
        href.searchParams.set("shoprec_slot", answer.slot);
        href.searchParams.set("shoprec_pos", String(position));
        href.searchParams.set("shoprec_strategy", strategy);
        if (exp) href.searchParams.set("shoprec_exp", exp.id + ":" + exp.variant);
        link.href = href.toString();
      }
      link.addEventListener("click", function () {
        announce(box, "select_item", answer, title, [tracked[index]]);
        if (ctx.ids) send(ctx.base, [li.shoprecEvent("click")]);
      });
      var src = safeUrl(item.image_url, ctx.base);
      var img;
      if (src) {
        img = el("img", "shoprec-img");
        img.alt = "";
        img.width = 150;
        img.height = 150;
        img.loading = "lazy";
        img.src = src.toString();
      } else {
        // No image: a grey box of the same size (CSS only, no request).
        img = el("span", "shoprec-img shoprec-noimg");
        img.setAttribute("aria-hidden", "true");
      }
      link.appendChild(img);
      link.appendChild(el("span", "shoprec-name", String(item.title || "")));
      li.appendChild(link);
      li.appendChild(el("span", "shoprec-price", formatPrice(item.price, currency, locale)));
      li.appendChild(el("span", "shoprec-reason", String(item.reason || "")));
      var hide = el("button", "shoprec-x", "\u00d7");
      hide.type = "button";
      hide.setAttribute("aria-label", "Not interested in " + String(item.title || "this product"));
      hide.addEventListener("click", function () {
        var next = li.nextElementSibling || li.previousElementSibling;
        li.parentNode.removeChild(li);
        if (next) next.querySelector("a").focus();
        if (!ctx.ids) return;  // hidden on this page only: nothing kept, nothing sent
        var list = readList("shoprec_dismissed");
        list.push(item.product_id);
        writeList("shoprec_dismissed", list);
        send(ctx.base, [li.shoprecEvent("dismiss")]);
      });
      li.appendChild(hide);
      list.appendChild(li);
      if (seen) seen.observe(li);
    });
    section.appendChild(list);
    var nav = fmt === "carousel" ? carousel(section, list) : noop;
    box.textContent = "";
    box.appendChild(section);
    nav();
    announce(box, "view_item_list", answer, title, tracked);
  }

  // One row moved a page at a time by prev/next buttons or the arrow keys; the buttons sit
  // over the row (absolute), so adding them moves nothing. Returns the button-state update.
  function carousel(section, list) {
    list.tabIndex = 0;
    function step(dir) {
      try { list.scrollBy({ left: dir * Math.max(list.clientWidth - 48, 160), behavior: "smooth" }); } catch (e) { list.scrollLeft += dir * list.clientWidth; }
    }
    function button(cls, label, dir, text) {
      var b = el("button", "shoprec-nav " + cls, text);
      b.type = "button";
      b.setAttribute("aria-label", label);
      b.addEventListener("click", function () { step(dir); });
      section.appendChild(b);
      return b;
    }
    var prev = button("shoprec-prev", "Previous products", -1, "\u2039");
    var next = button("shoprec-next", "Next products", 1, "\u203a");
    function update() {
      prev.disabled = list.scrollLeft <= 1;
      next.disabled = list.scrollLeft + list.clientWidth >= list.scrollWidth - 1;
    }
    list.addEventListener("scroll", update, { passive: true });
    list.addEventListener("keydown", function (e) {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      e.preventDefault();
      step(e.key === "ArrowRight" ? 1 : -1);
    });
    return update;
  }

  // Nothing to show: give the reserved space back only where no one can see it move.
  function release(box) {
    try { if (box.getBoundingClientRect().top > window.innerHeight) box.style.minHeight = "0"; } catch (e) { /* detached */ }
  }

  // A candidate position shows the list only when it is the one the visitor's placement
  // variant names, or (outside a placement test) when it is the page's default position.
  function placedHere(box, answer) {
    var mine = attr(box, "placement");
    if (!mine) return true;
    var assigned = answer.experiment && answer.experiment.placement;
    return assigned ? mine === assigned : box.hasAttribute("data-placement-default");
  }

  function load(box) {
    if (box.getAttribute("data-shoprec-state")) return;
    box.setAttribute("data-shoprec-state", "loading");
    // A visitor held out of an experiment here was shown nothing last time: reserve nothing.
    var place = attr(box, "shop") + "/" + attr(box, "shoprec");
    // ...nor at a candidate position that is not the page's default (placement tests).
    var candidate = attr(box, "placement") && !box.hasAttribute("data-placement-default");
    if (!candidate && readList("shoprec_holdout").indexOf(place) < 0) box.style.minHeight = (parseInt(attr(box, "min-height"), 10) || 340) + "px";
    var ctx = { base: apiBase(box), ids: shopperIds(box) };
    if (ctx.ids) {
      ctx.customerId = attr(box, "customer-id");
      ctx.customerToken = attr(box, "customer-token");
    }
    var query = new URLSearchParams();
    if (attr(box, "shop")) query.set("shop", attr(box, "shop"));  // the app proxy names it
    query.set("context", attr(box, "shoprec"));
    if (attr(box, "slot")) query.set("slot", attr(box, "slot"));
    var limit = parseInt(attr(box, "limit"), 10) || DEFAULT_LIMIT;
    var alone = attr(box, "repeats") === "allow";
    var before = alone ? Promise.resolve() : page.last;
    var settle = noop;
    if (!alone) {
      // Ask for enough to fill the list once the widgets above took theirs.
      query.set("limit", String(Math.min(limit + page.planned, MAX_ASKED)));
      page.planned += limit;
      page.last = new Promise(function (resolve) { settle = resolve; });
    } else if (attr(box, "limit")) {
      query.set("limit", attr(box, "limit"));
    }
    (attr(box, "product-ids") || attr(box, "product-id")).split(",").forEach(function (id) {
      if (id.trim()) query.append("product_id", id.trim());
    });
    if (ctx.customerId) query.set("customer_id", ctx.customerId);
    if (ctx.customerToken) query.set("customer_token", ctx.customerToken);
    if (ctx.ids) {
      query.set("session_id", ctx.ids.session);
      query.set("visitor_id", ctx.ids.visitor);
    }
    // After a dismissal the cached answer is stale: a new key makes the browser ask again.
    query.set("d", String(readList("shoprec_dismissed").length));
    var url = ctx.base + "/api/v1/recommendations?";
    var asked = getJSON(url + query.toString());
    asked.catch(noop);  // a failure is handled below, once the widgets above have rendered
    function unseen(answer) {
      var dismissed = readList("shoprec_dismissed");
      return (answer.items || []).filter(function (it) {
        return !page.shown[it.product_id] && dismissed.indexOf(it.product_id) < 0;
      });
    }
    before.then(function () { return asked; }).then(function (answer) {
      if (alone || unseen(answer).length >= Math.min(limit, (answer.items || []).length)) return answer;
      // Short once the widgets above took theirs: ask again without what they show.
      var again = new URLSearchParams(query.toString());
      again.set("limit", String(limit));
      again.set("exclude", Object.keys(page.shown).slice(-MAX_EXCLUDED).join(","));
      return getJSON(url + again.toString()).catch(function () { return answer; });
    }).then(function (answer) {
      if (ctx.ids) toggle("shoprec_holdout", place, !!(answer.experiment && answer.experiment.variant === "holdout"));
      if (!placedHere(box, answer)) {
        box.setAttribute("data-shoprec-state", "elsewhere");
        box.style.minHeight = "0";
        return;
      }
      var own = {};
      for (var key in answer) own[key] = answer[key];
      if (!alone) {
        own.items = unseen(answer).slice(0, limit);
        own.items.forEach(function (it) { page.shown[it.product_id] = true; });
      }
      render(box, own, ctx);
      box.setAttribute("data-shoprec-state", "ready");
    }).catch(function () {
      box.setAttribute("data-shoprec-state", "failed");
      release(box);
    }).then(function () { settle(); });
  }

  // <div hidden data-shoprec-view="p001" data-shop="demo">: the page reports one product view,
  // which feeds "also viewed" and this session's personal lists.
  function trackView(tag) {
    if (tag.getAttribute("data-shoprec-sent")) return;
    var who = shopperIds(tag);
    if (!who) return;  // no consent: no view is reported (a later scan may send it)
    tag.setAttribute("data-shoprec-sent", "1");
    send(apiBase(tag), [{ shop: attr(tag, "shop"), type: "view", product_id: attr(tag, "shoprec-view"),
      customer_id: attr(tag, "customer-id") || null, customer_token: attr(tag, "customer-token") || null,
      session_id: who.session, visitor_id: who.visitor }]);
  }

  function each(selector, fn) {
    try { Array.prototype.forEach.call(document.querySelectorAll(selector), function (node) { try { fn(node); } catch (e) { /* one bad node */ } }); } catch (e) { /* very old browser */ }
  }

  function scan() {
    each("[data-shoprec-view]", trackView);
    each("[data-shoprec]", load);
  }

  window.shoprec = { scan: scan };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
