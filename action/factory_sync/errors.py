"""The one exception type a user sees: a short message that says what is wrong and what to do."""


class FactorySyncError(Exception):
    """An expected failure. Its message is shown as the run's error annotation, as is."""
