"""The failure-reason tree (app that refused -> category -> fingerprint)."""
