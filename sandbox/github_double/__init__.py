"""A stateful stand-in for GitHub, served over HTTP, for tests and the sandbox."""
