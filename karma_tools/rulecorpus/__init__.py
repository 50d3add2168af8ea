"""Generated rules and facts for the differential check (hypothesis strategies; tooling, not the product)."""
