<?php
/**
 * The settings page (WooCommerce > shoprec) and the Connect button.
 *
 * Connect sends the owner's browser to shoprec with a request signed by the identity secret
 * (so only someone holding it can start one); shoprec answers with a one-time state and
 * sends the browser on to this store's /wc-auth/v1/authorize, where the owner approves.
 * WooCommerce then posts the new REST keys straight to shoprec: nobody copies keys.
 *
 * @package ShoprecForWooCommerce
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings page, sanitising, and the connect redirect.
 */
class Shoprec_Admin {

	const PAGE = 'shoprec';

	/**
	 * Hooks the menu, the setting and the connect action.
	 */
	public static function init() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_init', array( __CLASS__, 'register' ) );
		add_action( 'admin_post_shoprec_connect', array( __CLASS__, 'connect' ) );
	}

	/**
	 * WooCommerce > shoprec.
	 */
	public static function menu() {
		add_submenu_page( 'woocommerce', 'shoprec', 'shoprec', 'manage_woocommerce', self::PAGE, array( __CLASS__, 'page' ) );
	}

	/**
	 * The option and its sanitising.
	 */
	public static function register() {
		register_setting(
			'shoprec',
			Shoprec_Options::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( __CLASS__, 'sanitize' ),
			)
		);
	}

	/**
	 * Keeps only known settings, each in its allowed form.
	 *
	 * @param mixed $input Submitted values.
	 * @return array<string, string>
	 */
	public static function sanitize( $input ) {
		$input = is_array( $input ) ? $input : array();
		$out   = Shoprec_Options::all();
		if ( isset( $input['server_url'] ) ) {
			$url               = esc_url_raw( trim( (string) $input['server_url'] ), array( 'http', 'https' ) );
			$out['server_url'] = untrailingslashit( $url );
		}
		if ( isset( $input['shop'] ) ) {
			$shop        = strtolower( trim( (string) $input['shop'] ) );
			$out['shop'] = preg_match( '/^[a-z0-9][a-z0-9_-]{0,63}$/', $shop ) ? $shop : '';
		}
		// An empty secret field keeps the stored one (it is never printed back).
		if ( isset( $input['identity_secret'] ) && '' !== trim( (string) $input['identity_secret'] ) ) {
			$out['identity_secret'] = trim( (string) $input['identity_secret'] );
		}
		if ( isset( $input['consent'] ) ) {
			$out['consent'] = 'granted' === $input['consent'] ? 'granted' : 'page';
		}
		foreach ( array( 'product', 'cart', 'thankyou' ) as $place ) {
			$key = $place . '_position';
			if ( isset( $input[ $key ] ) && isset( Shoprec_Options::POSITIONS[ $place ][ $input[ $key ] ] ) ) {
				$out[ $key ] = (string) $input[ $key ];
			}
		}
		$out['server_events'] = empty( $input['server_events'] ) ? 'no' : 'yes';
		if ( isset( $input['limit'] ) ) {
			$out['limit'] = (string) max( 1, min( 24, absint( $input['limit'] ) ) );
		}
		return $out;
	}

	/**
	 * The settings page.
	 */
	public static function page() {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			return;
		}
		$o    = Shoprec_Options::all();
		$name = Shoprec_Options::OPTION;
		echo '<div class="wrap"><h1>shoprec</h1>';
		// Pages outside Settings print options.php's "Settings saved." themselves.
		settings_errors();
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a display flag only.
		if ( isset( $_GET['shoprec_error'] ) ) {
			echo '<div class="notice notice-error"><p>' . esc_html__( 'Set the shoprec URL, the shop name and the identity secret, and save, before connecting.', 'shoprec-for-woocommerce' ) . '</p></div>';
		}
		echo '<form method="post" action="options.php">';
		settings_fields( 'shoprec' );
		echo '<table class="form-table" role="presentation">';
		self::row( __( 'shoprec URL', 'shoprec-for-woocommerce' ), '<input type="url" class="regular-text" name="' . esc_attr( $name ) . '[server_url]" value="' . esc_attr( $o['server_url'] ) . '" placeholder="https://recs.example.com">' );
		self::row( __( 'Shop name', 'shoprec-for-woocommerce' ), '<input type="text" class="regular-text" name="' . esc_attr( $name ) . '[shop]" value="' . esc_attr( $o['shop'] ) . '"><p class="description">' . esc_html__( 'The shop as shoprec names it (shoprec --shop NAME).', 'shoprec-for-woocommerce' ) . '</p>' );
		$secret_note = '' === $o['identity_secret'] ? __( 'Not set. Print it with: shoprec --shop NAME identity secret', 'shoprec-for-woocommerce' ) : __( 'Set (leave empty to keep it).', 'shoprec-for-woocommerce' );
		self::row( __( 'Identity secret', 'shoprec-for-woocommerce' ), '<input type="password" class="regular-text" autocomplete="off" name="' . esc_attr( $name ) . '[identity_secret]" value=""><p class="description">' . esc_html( $secret_note ) . '</p>' );
		self::row(
			__( 'Analytics consent', 'shoprec-for-woocommerce' ),
			self::select(
				$name . '[consent]',
				array(
					'page'    => __( 'Asked by the page (a cookie banner sets window.shoprecConsent = true)', 'shoprec-for-woocommerce' ),
					'granted' => __( 'Always granted (no consent banner needed for this store)', 'shoprec-for-woocommerce' ),
				),
				$o['consent']
			)
		);
		self::row( __( 'Product page', 'shoprec-for-woocommerce' ), self::select( $name . '[product_position]', Shoprec_Options::POSITIONS['product'], $o['product_position'] ) );
		self::row( __( 'Cart page', 'shoprec-for-woocommerce' ), self::select( $name . '[cart_position]', Shoprec_Options::POSITIONS['cart'], $o['cart_position'] ) );
		self::row( __( 'Thank-you page', 'shoprec-for-woocommerce' ), self::select( $name . '[thankyou_position]', Shoprec_Options::POSITIONS['thankyou'], $o['thankyou_position'] ) );
		self::row( __( 'Products shown', 'shoprec-for-woocommerce' ), '<input type="number" min="1" max="24" name="' . esc_attr( $name ) . '[limit]" value="' . esc_attr( $o['limit'] ) . '">' );
		self::row( __( 'Add-to-cart events', 'shoprec-for-woocommerce' ), '<label><input type="checkbox" name="' . esc_attr( $name ) . '[server_events]" value="1"' . checked( 'yes', $o['server_events'], false ) . '> ' . esc_html__( 'Report add to cart from the server', 'shoprec-for-woocommerce' ) . '</label>' );
		echo '</table>';
		submit_button();
		echo '</form><h2>' . esc_html__( 'Connect', 'shoprec-for-woocommerce' ) . '</h2><p>' . esc_html__( 'Gives shoprec REST API keys (read/write: it registers its webhooks) through WooCommerce\'s own approval page. Run it again any time to replace the keys.', 'shoprec-for-woocommerce' ) . '</p>';
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '">';
		echo '<input type="hidden" name="action" value="shoprec_connect">';
		wp_nonce_field( 'shoprec_connect' );
		submit_button( __( 'Connect to shoprec', 'shoprec-for-woocommerce' ), 'secondary', 'shoprec-connect', false );
		echo '</form></div>';
	}

	/**
	 * Starts the key exchange: to shoprec with a signed, short-lived connect request.
	 */
	public static function connect() {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			wp_die( esc_html__( 'You may not connect this store.', 'shoprec-for-woocommerce' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( 'shoprec_connect' );
		$secret = Shoprec_Options::get( 'identity_secret' );
		if ( ! Shoprec_Options::is_configured() || '' === $secret ) {
			wp_safe_redirect( add_query_arg( 'shoprec_error', 'settings', admin_url( 'admin.php?page=' . self::PAGE ) ) );
			exit;
		}
		$shop      = Shoprec_Options::get( 'shop' );
		$store_url = untrailingslashit( home_url() );
		$expires   = time() + 600;
		$url       = add_query_arg(
			array(
				'store_url' => rawurlencode( $store_url ),
				'expires'   => $expires,
				'signature' => Shoprec_Token::connect_signature( $secret, $shop, $store_url, $expires ),
			),
			Shoprec_Options::server_url() . '/woocommerce/connect/' . rawurlencode( $shop )
		);
		// phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- the owner's own shoprec server.
		wp_redirect( esc_url_raw( $url ) );
		exit;
	}

	/**
	 * One form-table row; `$field` is already escaped markup.
	 *
	 * @param string $label Row label.
	 * @param string $field Escaped field markup.
	 */
	private static function row( $label, $field ) {
		echo '<tr><th scope="row">' . esc_html( $label ) . '</th><td>' . $field . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped by the caller.
	}

	/**
	 * A select element, escaped.
	 *
	 * @param string               $name     Field name.
	 * @param array<string,string> $choices  Value => label.
	 * @param string               $selected Current value.
	 * @return string
	 */
	private static function select( $name, $choices, $selected ) {
		$html = '<select name="' . esc_attr( $name ) . '">';
		foreach ( $choices as $value => $label ) {
			$html .= '<option value="' . esc_attr( $value ) . '"' . selected( $selected, $value, false ) . '>' . esc_html( $label ) . '</option>';
		}
		return $html . '</select>';
	}
}
