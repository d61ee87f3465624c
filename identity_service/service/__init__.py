"""Use cases: the rules, and the transaction boundary of every change."""
