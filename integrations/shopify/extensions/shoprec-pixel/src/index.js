/* shoprec web pixel.
 *
 * checkout_completed becomes a shoprec `checkout` event (POST /api/v1/events): the order id
 * with the widget's visitor and session ids, so attribution can credit a guest order to the
 * recommendation clicks before it (an order webhook names the customer, never the browser).
 * It is the one storefront moment no theme code sees since script tags stopped running at
 * checkout, so the pixel always reports it. The order itself, its lines and its customer
 * still come from the signed orders/create webhook; no customer id is sent from here (a
 * pixel cannot sign one, and shoprec keeps a customer only with a signed identity).
 *
 * Shopify's product_viewed and product_added_to_cart become `view` and `add_to_cart` only
 * when the shop's pixel settings say the pixel reports them (storefront_events = "pixel";
 * with "embed" the theme's app embed does, so nothing is counted twice).
 *
 * The shopper's shoprec ids (kept by widget.js on the storefront) are reused when present, so
 * the widget's session lists see these views; otherwise Shopify's clientId is the visitor. */
import {register} from "@shopify/web-pixels-extension";

const SHOPIFY_GID = /^gid:\/\/shopify\/Product\//;
const ORDER_GID = /^gid:\/\/shopify\/Order(Identity)?\//;

/** shoprec's product id from a pixel product: "123" stays, "gid://shopify/Product/123" -> "123". */
export function productIdOf(product) {
  const raw = product && product.id != null ? String(product.id) : "";
  return raw.replace(SHOPIFY_GID, "");
}

/** The shoprec event for one Shopify event, or null when it names no product. */
export function shoprecEvent(type, product, event, shop, ids) {
  const productId = productIdOf(product);
  if (!productId) return null;
  return {
    shop,
    type,
    product_id: productId,
    ts: event.timestamp || null,
    visitor_id: ids.visitor || event.clientId || null,
    session_id: ids.session || null,
  };
}

/** The order id as the orders/create webhook names it: "gid://shopify/Order/9" -> "9". */
export function orderIdOf(checkout) {
  const order = checkout && checkout.order;
  const raw = order && order.id != null ? String(order.id) : "";
  return raw.replace(ORDER_GID, "");
}

/** The shoprec checkout event for a checkout_completed, or null without an order or visitor. */
export function checkoutEvent(checkout, event, shop, ids) {
  const orderId = orderIdOf(checkout);
  const visitor = ids.visitor || event.clientId || "";
  if (!orderId || !visitor) return null;
  return {shop, type: "checkout", order_id: orderId, ts: event.timestamp || null,
    visitor_id: visitor, session_id: ids.session || null};
}

async function storedIds(browser) {
  const read = async (store, key) => {
    try {
      return store ? (await store.getItem(key)) || "" : "";
    } catch (error) {
      return "";
    }
  };
  return {
    visitor: await read(browser.localStorage, "shoprec_vid"),
    session: await read(browser.sessionStorage, "shoprec_sid"),
  };
}

register(({analytics, browser, settings}) => {
  const base = String(settings.shoprec_url || "").replace(/\/+$/, "");
  const shop = String(settings.shop || "");
  if (!base || !shop) return;
  const url = `${base}/api/v1/events`;

  async function post(body) {
    if (!body) return;
    const text = JSON.stringify(body);
    try {
      if (browser.sendBeacon && (await browser.sendBeacon(url, text))) return;
    } catch (error) {
      // fall back to fetch below
    }
    try {
      await fetch(url, {method: "POST", body: text, keepalive: true, headers: {"Content-Type": "text/plain"}});
    } catch (error) {
      // offline: a lost event costs less than a broken storefront or checkout
    }
  }

  analytics.subscribe("checkout_completed", async (event) => {
    const checkout = event.data && event.data.checkout;
    return post(checkoutEvent(checkout, event, shop, await storedIds(browser)));
  });
  if (settings.storefront_events !== "pixel") return;

  async function send(type, product, event) {
    return post(shoprecEvent(type, product, event, shop, await storedIds(browser)));
  }

  analytics.subscribe("product_viewed", (event) => {
    const variant = event.data && event.data.productVariant;
    return send("view", variant && variant.product, event);
  });
  analytics.subscribe("product_added_to_cart", (event) => {
    const line = event.data && event.data.cartLine;
    return send("add_to_cart", line && line.merchandise && line.merchandise.product, event);
  });
});
