"""Trust policies: parse, evaluate as IAM does, lint, and explain a chain (doctor)."""
