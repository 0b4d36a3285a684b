"""The web console: the customer's Billing Center and the provider's operator console,
server-rendered from Jinja2 templates, calling the same services as the APIs."""
