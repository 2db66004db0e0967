"""lender_rules."""
