<?php
/**
 * The storefront side: the widget placeholder shoprec's widget.js fills, where it is placed
 * (WooCommerce hooks, the [shoprec] shortcode, the block) and widget.js, enqueued once.
 *
 * @package ShoprecForWooCommerce
 */

defined( 'ABSPATH' ) || exit;

/**
 * Prints widget containers and loads widget.js.
 */
class Shoprec_Widget {

	/**
	 * The contexts shoprec serves that a page of this store can show.
	 *
	 * @var string[]
	 */
	const CONTEXTS = array( 'product', 'cart', 'home', 'post_purchase' );

	/**
	 * Hooks the automatic placements, the shortcode and the block.
	 */
	public static function init() {
		add_action( 'init', array( __CLASS__, 'register_block' ) );
		add_shortcode( 'shoprec', array( __CLASS__, 'shortcode' ) );
		add_action( 'wp', array( __CLASS__, 'hook_placements' ) );
	}

	/**
	 * Adds the product, cart and thank-you placements at the hooks the settings name.
	 */
	public static function hook_placements() {
		if ( ! Shoprec_Options::is_configured() ) {
			return;
		}
		$product = Shoprec_Options::get( 'product_position' );
		if ( isset( Shoprec_Options::POSITIONS['product'][ $product ] ) && 'off' !== $product ) {
			add_action( $product, array( __CLASS__, 'print_product' ), 25 );
		}
		$cart = Shoprec_Options::get( 'cart_position' );
		if ( isset( Shoprec_Options::POSITIONS['cart'][ $cart ] ) && 'off' !== $cart ) {
			add_action( $cart, array( __CLASS__, 'print_cart' ), 20 );
		}
		if ( 'woocommerce_thankyou' === Shoprec_Options::get( 'thankyou_position' ) ) {
			add_action( 'woocommerce_thankyou', array( __CLASS__, 'print_thankyou' ), 20 );
		}
	}

	/**
	 * The product page's widget and its view report.
	 */
	public static function print_product() {
		$product_id = self::current_product_id();
		if ( $product_id ) {
			echo self::view_tag( $product_id ) . self::html( 'product', array( $product_id ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built escaped.
		}
	}

	/**
	 * The cart page's widget, anchored on what is in the cart.
	 */
	public static function print_cart() {
		echo self::html( 'cart', self::cart_product_ids() ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built escaped.
	}

	/**
	 * The order received page's widget, anchored on what was bought.
	 *
	 * @param int $order_id The order shown.
	 */
	public static function print_thankyou( $order_id ) {
		$order = $order_id ? wc_get_order( $order_id ) : false;
		$ids   = array();
		if ( $order ) {
			foreach ( $order->get_items() as $item ) {
				$ids[] = (int) $item->get_product_id();
			}
		}
		echo self::html( 'post_purchase', $ids ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built escaped.
	}

	/**
	 * [shoprec context="product|cart|home|post_purchase" slot="" limit="" title="" product_id=""].
	 * Without a context: the product on a product page, the cart on the cart page, else home.
	 *
	 * @param array|string $atts Shortcode attributes.
	 * @return string
	 */
	public static function shortcode( $atts ) {
		$atts = shortcode_atts(
			array(
				'context'    => '',
				'slot'       => '',
				'limit'      => '',
				'title'      => '',
				'format'     => '',
				'product_id' => '',
			),
			$atts,
			'shoprec'
		);
		return self::render_for( $atts );
	}

	/**
	 * The block's markup (blocks/recommendations/render.php calls this).
	 *
	 * @param array $attributes Block attributes (context, slot, limit, title, format).
	 * @return string
	 */
	public static function render_for( $attributes ) {
		if ( ! Shoprec_Options::is_configured() ) {
			return '';
		}
		$context = isset( $attributes['context'] ) ? sanitize_key( $attributes['context'] ) : '';
		$ids     = array();
		if ( ! empty( $attributes['product_id'] ) ) {
			$ids = array_map( 'absint', explode( ',', (string) $attributes['product_id'] ) );
		}
		if ( '' === $context ) {
			if ( function_exists( 'is_product' ) && is_product() ) {
				$context = 'product';
			} elseif ( function_exists( 'is_cart' ) && is_cart() ) {
				$context = 'cart';
			} else {
				$context = 'home';
			}
		}
		if ( ! in_array( $context, self::CONTEXTS, true ) ) {
			return '';
		}
		if ( ! $ids && 'product' === $context ) {
			$ids = array_filter( array( self::current_product_id() ) );
		} elseif ( ! $ids && 'cart' === $context ) {
			$ids = self::cart_product_ids();
		}
		if ( 'product' === $context && ! $ids ) {
			return '';
		}
		return self::html( $context, $ids, $attributes );
	}

	/**
	 * The placeholder widget.js fills; every attribute escaped. Enqueues widget.js.
	 *
	 * @param string $context     The placement's context.
	 * @param int[]  $product_ids Anchor products.
	 * @param array  $options     Optional slot, limit, title, format.
	 * @return string
	 */
	public static function html( $context, $product_ids, $options = array() ) {
		if ( ! Shoprec_Options::is_configured() ) {
			return '';
		}
		self::enqueue();
		$limit = ! empty( $options['limit'] ) ? absint( $options['limit'] ) : absint( Shoprec_Options::get( 'limit' ) );
		$attrs = array(
			'data-shoprec'    => $context,
			'data-shop'       => Shoprec_Options::get( 'shop' ),
			'data-api'        => Shoprec_Options::server_url(),
			'data-limit'      => $limit ? (string) min( $limit, 24 ) : '',
			'data-currency'   => function_exists( 'get_woocommerce_currency' ) ? get_woocommerce_currency() : '',
			'data-min-height' => '340',
		);
		$ids   = array_values( array_unique( array_filter( array_map( 'absint', $product_ids ) ) ) );
		if ( 'product' === $context && $ids ) {
			$attrs['data-product-id'] = (string) $ids[0];
		} elseif ( $ids ) {
			$attrs['data-product-ids'] = implode( ',', array_slice( $ids, 0, 20 ) );
		}
		foreach ( array( 'slot', 'title', 'format' ) as $name ) {
			if ( ! empty( $options[ $name ] ) ) {
				$attrs[ 'data-' . $name ] = sanitize_text_field( $options[ $name ] );
			}
		}
		if ( 'granted' === Shoprec_Options::get( 'consent' ) ) {
			$attrs['data-consent'] = 'true';
		}
		$token = Shoprec_Token::current();
		if ( '' !== $token ) {
			$attrs['data-customer-token'] = $token;
		}
		$html = '<div class="shoprec-woocommerce"';
		foreach ( $attrs as $name => $value ) {
			if ( '' === $value ) {
				continue;
			}
			$html .= ' ' . $name . '="' . ( 'data-api' === $name ? esc_url( $value ) : esc_attr( $value ) ) . '"';
		}
		return $html . ' style="min-height:340px"></div>';
	}

	/**
	 * The hidden tag through which widget.js reports a product view.
	 *
	 * @param int $product_id The product viewed.
	 * @return string
	 */
	public static function view_tag( $product_id ) {
		$html = '<div hidden data-shoprec-view="' . esc_attr( (string) absint( $product_id ) ) . '"'
			. ' data-shop="' . esc_attr( Shoprec_Options::get( 'shop' ) ) . '"'
			. ' data-api="' . esc_url( Shoprec_Options::server_url() ) . '"';
		if ( 'granted' === Shoprec_Options::get( 'consent' ) ) {
			$html .= ' data-consent="true"';
		}
		$token = Shoprec_Token::current();
		if ( '' !== $token ) {
			$html .= ' data-customer-token="' . esc_attr( $token ) . '"';
		}
		return $html . '></div>';
	}

	/**
	 * Loads widget.js from the shoprec server, once per page, in the footer, and the small
	 * script that hands the widget's visitor ids to the server-side events (first-party
	 * cookies, written only when the page granted consent as the widget reads it).
	 */
	public static function enqueue() {
		if ( wp_script_is( 'shoprec-widget', 'enqueued' ) ) {
			return;
		}
		// phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion -- the server's own widget.js, cached by it.
		wp_enqueue_script( 'shoprec-widget', Shoprec_Options::server_url() . '/static/widget.js', array(), null, true );
		wp_add_inline_script( 'shoprec-widget', self::ids_bridge_script(), 'after' );
	}

	/**
	 * The script copying the widget's visitor and session ids into cookies on page load.
	 *
	 * @return string
	 */
	private static function ids_bridge_script() {
		return 'window.addEventListener("load",function(){try{'
			. 'var ok=window.shoprecConsent===true||!!document.querySelector("[data-shoprec][data-consent=\"true\"]");'
			. 'if(!ok)return;'
			. 'var v=localStorage.getItem("shoprec_vid"),s=sessionStorage.getItem("shoprec_sid");'
			. 'var tail=";path=/;samesite=lax"+(location.protocol==="https:"?";secure":"");'
			. 'if(v)document.cookie="shoprec_vid="+encodeURIComponent(v)+";max-age=31536000"+tail;'
			. 'if(s)document.cookie="shoprec_sid="+encodeURIComponent(s)+tail;'
			. '}catch(e){}});';
	}

	/**
	 * Registers the server-rendered block (blocks/recommendations/block.json).
	 */
	public static function register_block() {
		if ( function_exists( 'register_block_type' ) ) {
			register_block_type( SHOPREC_WC_DIR . 'blocks/recommendations' );
		}
	}

	/**
	 * The product of the page being shown, 0 when none.
	 *
	 * @return int
	 */
	private static function current_product_id() {
		global $product;
		if ( is_object( $product ) && method_exists( $product, 'get_id' ) ) {
			return (int) $product->get_id();
		}
		return is_singular( 'product' ) ? (int) get_queried_object_id() : 0;
	}

	/**
	 * The products in the cart (parents, not variations: shoprec knows products).
	 *
	 * @return int[]
	 */
	private static function cart_product_ids() {
		$ids = array();
		if ( function_exists( 'WC' ) && WC()->cart ) {
			foreach ( WC()->cart->get_cart() as $item ) {
				$ids[] = (int) $item['product_id'];
			}
		}
		return $ids;
	}
}
