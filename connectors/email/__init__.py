"""Email providers that receive pushed blocks: Klaviyo and Mailchimp."""
