"""The storage rule engine: rules are pure functions with citations; thresholds are data."""
