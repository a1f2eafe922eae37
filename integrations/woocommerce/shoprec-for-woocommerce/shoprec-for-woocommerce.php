<?php
/**
 * Plugin Name:       shoprec for WooCommerce
 * Plugin URI:        https://github.com/shoprec/shoprec
 * Description:       Shows shoprec's product recommendations on product, cart and thank-you pages, connects the store to a self-hosted shoprec server with WooCommerce's own key exchange, and reports add-to-cart events from the server.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * Author:            shoprec
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       shoprec-for-woocommerce
 * WC requires at least: 7.0
 * WC tested up to:   7.8
 *
 * @package ShoprecForWooCommerce
 */

defined( 'ABSPATH' ) || exit;

define( 'SHOPREC_WC_VERSION', '1.0.0' );
define( 'SHOPREC_WC_FILE', __FILE__ );
define( 'SHOPREC_WC_DIR', plugin_dir_path( __FILE__ ) );

require_once SHOPREC_WC_DIR . 'includes/class-shoprec-options.php';
require_once SHOPREC_WC_DIR . 'includes/class-shoprec-token.php';
require_once SHOPREC_WC_DIR . 'includes/class-shoprec-widget.php';
require_once SHOPREC_WC_DIR . 'includes/class-shoprec-events.php';
require_once SHOPREC_WC_DIR . 'includes/class-shoprec-admin.php';

Shoprec_Widget::init();
Shoprec_Events::init();
if ( is_admin() ) {
	Shoprec_Admin::init();
}
