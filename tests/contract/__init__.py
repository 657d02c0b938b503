"""GitHub's published API descriptions (vendored) and the checker that holds the double to them."""
