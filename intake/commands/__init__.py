"""The `hotline111` command groups, one module each; `intake.cli` assembles them."""
