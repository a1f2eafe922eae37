<?php
/**
 * The plugin's settings: one option array, read with defaults filled in.
 *
 * @package ShoprecForWooCommerce
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reads and names the settings kept in the `shoprec_settings` option.
 */
class Shoprec_Options {

	const OPTION = 'shoprec_settings';

	/**
	 * Where each placement may go: the hooks the settings page offers, 'off' hides it.
	 *
	 * @var array<string, array<string, string>>
	 */
	const POSITIONS = array(
		'product'  => array(
			'woocommerce_after_single_product_summary' => 'After the product summary',
			'woocommerce_after_single_product'         => 'At the end of the product page',
			'off'                                      => 'Not shown (use the block or [shoprec])',
		),
		'cart'     => array(
			'woocommerce_after_cart_table' => 'After the cart table',
			'woocommerce_after_cart'       => 'At the end of the cart page',
			'off'                          => 'Not shown (use the block or [shoprec])',
		),
		'thankyou' => array(
			'woocommerce_thankyou' => 'On the order received page',
			'off'                  => 'Not shown',
		),
	);

	/**
	 * The defaults of every setting.
	 *
	 * @return array<string, string>
	 */
	public static function defaults() {
		return array(
			'server_url'        => '',
			'shop'              => '',
			'identity_secret'   => '',
			'consent'           => 'page',
			'product_position'  => 'woocommerce_after_single_product_summary',
			'cart_position'     => 'woocommerce_after_cart_table',
			'thankyou_position' => 'woocommerce_thankyou',
			'server_events'     => 'yes',
			'limit'             => '6',
			'connected_at'      => '',
		);
	}

	/**
	 * All settings, defaults filled in.
	 *
	 * @return array<string, string>
	 */
	public static function all() {
		$saved = get_option( self::OPTION, array() );
		return array_merge( self::defaults(), is_array( $saved ) ? $saved : array() );
	}

	/**
	 * One setting.
	 *
	 * @param string $name Setting name.
	 * @return string
	 */
	public static function get( $name ) {
		$all = self::all();
		return isset( $all[ $name ] ) ? (string) $all[ $name ] : '';
	}

	/**
	 * The shoprec server's base URL without a trailing slash ('' when unset).
	 *
	 * @return string
	 */
	public static function server_url() {
		return untrailingslashit( self::get( 'server_url' ) );
	}

	/**
	 * Whether the server URL and shop name are set (nothing is shown or sent before).
	 *
	 * @return bool
	 */
	public static function is_configured() {
		return '' !== self::server_url() && '' !== self::get( 'shop' );
	}
}
