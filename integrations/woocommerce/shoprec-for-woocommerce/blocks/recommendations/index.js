/* Editor side of shoprec/recommendations: the server's own render as the preview, and the
 * context and heading in the sidebar. Plain ES5 with WordPress globals: no build step. */
( function ( wp ) {
	var el = wp.element.createElement;
	var InspectorControls = wp.blockEditor.InspectorControls;
	var PanelBody = wp.components.PanelBody;
	var SelectControl = wp.components.SelectControl;
	var TextControl = wp.components.TextControl;
	var RangeControl = wp.components.RangeControl;
	var ServerSideRender = wp.serverSideRender;

	wp.blocks.registerBlockType( 'shoprec/recommendations', {
		edit: function ( props ) {
			var a = props.attributes;
			return el(
				'div',
				wp.blockEditor.useBlockProps(),
				el(
					InspectorControls,
					null,
					el(
						PanelBody,
						{ title: 'Recommendations' },
						el( SelectControl, {
							label: 'Context',
							value: a.context,
							options: [
								{ label: 'From the page', value: '' },
								{ label: 'Product', value: 'product' },
								{ label: 'Cart', value: 'cart' },
								{ label: 'Home (bestsellers, personal when logged in)', value: 'home' },
								{ label: 'After purchase', value: 'post_purchase' }
							],
							onChange: function ( v ) { props.setAttributes( { context: v } ); }
						} ),
						el( TextControl, {
							label: 'Heading (empty: the one set in shoprec)',
							value: a.title,
							onChange: function ( v ) { props.setAttributes( { title: v } ); }
						} ),
						el( RangeControl, {
							label: 'Products shown',
							value: a.limit,
							min: 2,
							max: 12,
							onChange: function ( v ) { props.setAttributes( { limit: v } ); }
						} )
					)
				),
				el( ServerSideRender, { block: 'shoprec/recommendations', attributes: a } ),
				el( 'p', { className: 'shoprec-editor-note' }, 'shoprec recommendations (filled in on the storefront)' )
			);
		},
		save: function () { return null; }
	} );
} )( window.wp );
