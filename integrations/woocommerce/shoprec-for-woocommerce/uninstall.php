<?php
/**
 * Removes the plugin's settings when it is deleted (not when it is only deactivated).
 *
 * @package ShoprecForWooCommerce
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'shoprec_settings' );
delete_site_option( 'shoprec_settings' );
