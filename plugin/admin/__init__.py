"""The owner's admin: one blueprint module per page, and the forms and JSON they share."""
