<?php
/**
 * The signed shopper identity shoprec verifies (its plugin/shopper_tokens.py):
 * v1.<customer id as base64url, no padding>.<expiry, unix seconds>.<hex HMAC-SHA256>,
 * keyed by the shop's identity secret over "<shop>\n<customer id>\n<expiry>".
 *
 * @package ShoprecForWooCommerce
 */

defined( 'ABSPATH' ) || exit;

/**
 * Makes shopper tokens and the signature of a connect request.
 */
class Shoprec_Token {

	/**
	 * A token lives an hour: made per page view, shoprec refuses ones over a day.
	 */
	const TTL = 3600;

	/**
	 * The token proving `$customer_id` of `$shop` until `$expiry`.
	 *
	 * @param string $secret      The shop's identity secret.
	 * @param string $shop        The shop's name in shoprec.
	 * @param string $customer_id The customer id (the WordPress user id as text).
	 * @param int    $expiry      Unix seconds.
	 * @return string
	 */
	public static function make( $secret, $shop, $customer_id, $expiry ) {
		$expiry = (int) $expiry;
		// phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- the token format.
		$encoded = rtrim( strtr( base64_encode( $customer_id ), '+/', '-_' ), '=' );
		$mac     = hash_hmac( 'sha256', $shop . "\n" . $customer_id . "\n" . $expiry, $secret );
		return 'v1.' . $encoded . '.' . $expiry . '.' . $mac;
	}

	/**
	 * The logged-in customer's token, or '' for a guest or when no secret is set.
	 *
	 * @return string
	 */
	public static function current() {
		$user_id = get_current_user_id();
		$secret  = Shoprec_Options::get( 'identity_secret' );
		if ( ! $user_id || '' === $secret ) {
			return '';
		}
		return self::make( $secret, Shoprec_Options::get( 'shop' ), (string) $user_id, time() + self::TTL );
	}

	/**
	 * The signature of a connect request: proves to shoprec that the one starting the key
	 * exchange for `$shop` holds its identity secret.
	 *
	 * @param string $secret    The shop's identity secret.
	 * @param string $shop      The shop's name in shoprec.
	 * @param string $store_url This store's home URL.
	 * @param int    $expires   Unix seconds.
	 * @return string
	 */
	public static function connect_signature( $secret, $shop, $store_url, $expires ) {
		return hash_hmac( 'sha256', "connect\n" . $shop . "\n" . $store_url . "\n" . (int) $expires, $secret );
	}
}
