<?php
/**
 * Server-side events: an add to cart is reported from WooCommerce's own hook, so it counts
 * whether the shopper used a form, AJAX, a block or a blocked script.
 *
 * A placed order is reported as a `checkout` event: the order id with the widget's visitor
 * and session ids, which is what lets shoprec credit a guest order to the recommendation
 * clicks before it. The order itself (lines, customer, status) still reaches shoprec through
 * the order webhooks the key exchange registers, so nothing is counted twice.
 *
 * @package ShoprecForWooCommerce
 */

defined( 'ABSPATH' ) || exit;

/**
 * Sends add_to_cart events to shoprec's /api/v1/events without waiting for the answer.
 */
class Shoprec_Events {

	/**
	 * Ids shoprec accepts: 1-128 characters without control characters (kept simpler here).
	 */
	const ID_PATTERN = '/^[A-Za-z0-9_.:-]{1,128}$/';

	/**
	 * Hooks the add-to-cart report.
	 */
	public static function init() {
		add_action( 'woocommerce_add_to_cart', array( __CLASS__, 'added_to_cart' ), 20, 4 );
		add_action( 'woocommerce_checkout_order_processed', array( __CLASS__, 'order_placed' ), 20, 1 );
		add_action( 'woocommerce_store_api_checkout_order_processed', array( __CLASS__, 'order_placed' ), 20, 1 );
	}

	/**
	 * One checkout event for a placed order (classic checkout passes its id, the Checkout
	 * block the order), when the browser has the widget's visitor id (consent given).
	 *
	 * @param int|WC_Order $order The order or its id.
	 */
	public static function order_placed( $order ) {
		if ( ! Shoprec_Options::is_configured() || 'yes' !== Shoprec_Options::get( 'server_events' ) ) {
			return;
		}
		$order_id = is_object( $order ) ? $order->get_id() : absint( $order );
		$event    = array_merge(
			array(
				'shop'     => Shoprec_Options::get( 'shop' ),
				'type'     => 'checkout',
				'order_id' => (string) $order_id,
			),
			self::browser_ids()
		);
		if ( $order_id > 0 && isset( $event['visitor_id'] ) ) {
			self::send( array( $event ) );
		}
	}

	/**
	 * One add_to_cart event for the product (the parent of a variation).
	 *
	 * @param string $cart_item_key Cart item key.
	 * @param int    $product_id    Product id.
	 * @param int    $quantity      Quantity added.
	 * @param int    $variation_id  Variation id, 0 when none.
	 */
	public static function added_to_cart( $cart_item_key, $product_id, $quantity, $variation_id ) {
		unset( $cart_item_key, $quantity, $variation_id );
		if ( ! Shoprec_Options::is_configured() || 'yes' !== Shoprec_Options::get( 'server_events' ) ) {
			return;
		}
		$event = array(
			'shop'       => Shoprec_Options::get( 'shop' ),
			'type'       => 'add_to_cart',
			'product_id' => (string) absint( $product_id ),
		);
		$token = Shoprec_Token::current();
		if ( '' !== $token ) {
			$event['customer_token'] = $token;
		}
		self::send( array( array_merge( $event, self::browser_ids() ) ) );
	}

	/**
	 * The widget's visitor and session ids from the cookies its page script wrote.
	 *
	 * @return array Fields visitor_id and session_id, each only when present.
	 */
	private static function browser_ids() {
		$ids = array();
		foreach ( array(
			'visitor_id' => 'shoprec_vid',
			'session_id' => 'shoprec_sid',
		) as $field => $cookie ) {
			$value = self::cookie_id( $cookie );
			if ( '' !== $value ) {
				$ids[ $field ] = $value;
			}
		}
		return $ids;
	}

	/**
	 * A shoprec id cookie the widget's page script wrote (only with consent), '' otherwise.
	 *
	 * @param string $name Cookie name.
	 * @return string
	 */
	private static function cookie_id( $name ) {
		if ( ! isset( $_COOKIE[ $name ] ) ) {
			return '';
		}
		$value = sanitize_text_field( wp_unslash( $_COOKIE[ $name ] ) );
		return preg_match( self::ID_PATTERN, $value ) ? $value : '';
	}

	/**
	 * Posts the events without blocking the shopper's request.
	 *
	 * @param array $events Events in shoprec's format.
	 */
	public static function send( $events ) {
		wp_remote_post(
			Shoprec_Options::server_url() . '/api/v1/events',
			array(
				'blocking' => false,
				'timeout'  => 2,
				'headers'  => array( 'Content-Type' => 'application/json' ),
				'body'     => wp_json_encode( count( $events ) === 1 ? $events[0] : $events ),
			)
		);
	}
}
