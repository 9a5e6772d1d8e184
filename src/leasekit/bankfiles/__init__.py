"""Bank files: debit orders out, results in."""
