"""Configuration workflows, one module per workflow: versioning (every change and its version),
examples, config_apply (whole documents, rollback) and api_keys. Views, API handlers, admin,
tasks and management commands all call these; none re-implements them."""
