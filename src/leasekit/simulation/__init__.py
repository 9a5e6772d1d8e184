"""The portfolio simulator behind ``leasekit simulate``: a synthetic book on a fresh
database, moved day by day through months of debit runs, bank returns, late transfers,
defaults and early settlements by the real services, and charted (docs/simulation.md)."""
