"""The spec: load it with locations, check it (schema, rules, lists) and build the frozen model."""
