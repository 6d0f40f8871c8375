"""What the measurements share: the labeled benchmark sets (labeled_sets), the table suite (table_suite),
planted customer-like tables (explain_tables), the default pipeline written plainly (reference_pipeline),
and the machine description, timing and JSON helpers (common)."""
