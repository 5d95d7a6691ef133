"""Reading preprocessed talking-head folders, validating them, and the synthetic studio."""
