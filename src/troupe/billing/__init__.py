"""Billing: prices, the ledger of reservations, charges and refunds, and usage."""
