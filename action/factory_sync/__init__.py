"""factory-sync: keeps each Factory tracking issue in step with its study repository."""
