"""The vendor gateway simulator: TLS front door for submissions, status and definitions."""
