"""Hand the verified train() to SMAC: facade registry, scenario, the module-level target."""
