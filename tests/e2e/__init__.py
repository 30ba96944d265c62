"""End-to-end tests that drive the whole pipeline (handlers, moto, the HealthOmics double)."""
