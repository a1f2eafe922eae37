/* shoprec web pixel: Shopify's product_viewed and product_added_to_cart become shoprec's
 * `view` and `add_to_cart` events (POST /api/v1/events), when the shop's pixel settings say
 * the pixel reports them (storefront_events = "pixel"; with "embed" the theme's app embed does
 * and this pixel sends nothing, so no event is counted twice).
 *
 * Purchases are not sent from here: shoprec has no purchase event, and an order reaches it
 * through the signed orders/create webhook, which attribution reads. No customer id is sent
 * either: a pixel cannot sign one, and shoprec keeps a customer only with a signed identity.
 * The shopper's shoprec ids (kept by widget.js on the storefront) are reused when present, so
 * the widget's session lists see these views; otherwise Shopify's clientId is the visitor. */
import {register} from "@shopify/web-pixels-extension";

const SHOPIFY_GID = /^gid:\/\/shopify\/Product\//;

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
  if (!base || !shop || settings.storefront_events !== "pixel") return;
  const url = `${base}/api/v1/events`;

  async function send(type, product, event) {
    const body = shoprecEvent(type, product, event, shop, await storedIds(browser));
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
      // offline: a lost view costs less than a broken storefront
    }
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
