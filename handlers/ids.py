"""Action, callback and block IDs in one place."""

COMMAND = "/browser-use"
