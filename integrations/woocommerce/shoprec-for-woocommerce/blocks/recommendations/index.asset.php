<?php
/**
 * Dependencies of the block's editor script (plain JavaScript, no build step).
 *
 * @package ShoprecForWooCommerce
 */

return array(
	'dependencies' => array( 'wp-blocks', 'wp-element', 'wp-block-editor', 'wp-components', 'wp-server-side-render' ),
	'version'      => '1.0.0',
);
