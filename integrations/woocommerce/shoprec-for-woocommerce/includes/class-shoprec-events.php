<?php
/**
 * Server-side events: an add to cart is reported from WooCommerce's own hook, so it counts
 * whether the shopper used a form, AJAX, a block or a blocked script.
 *
 * Purchases are not beaconed: shoprec receives every order through the order webhooks the
 * key exchange registers (and its reconciliation sync), so a purchase beacon would only
 * count the same order twice.
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
		foreach ( array(
			'visitor_id' => 'shoprec_vid',
			'session_id' => 'shoprec_sid',
		) as $field => $cookie ) {
			$value = self::cookie_id( $cookie );
			if ( '' !== $value ) {
				$event[ $field ] = $value;
			}
		}
		self::send( array( $event ) );
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
