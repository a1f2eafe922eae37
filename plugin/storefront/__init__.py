"""What shoppers' browsers and email clients call: the storefront API, the widget, the app
proxy, pulled email blocks, and the request checks and identity they share."""
