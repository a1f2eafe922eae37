<?php
/**
 * Server render of the shoprec/recommendations block.
 *
 * @package ShoprecForWooCommerce
 *
 * @var array $attributes The block's attributes.
 */

defined( 'ABSPATH' ) || exit;

echo Shoprec_Widget::render_for( is_array( $attributes ) ? $attributes : array() ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built escaped.
