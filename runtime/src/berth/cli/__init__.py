"""The ``berth`` command: Docker's verbs and flags where they exist."""
