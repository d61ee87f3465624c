"""HTTP adapters: parse, call one operation, render. No rules here."""
