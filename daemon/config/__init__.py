"""The typed, frozen configuration: files, secrets, environment, plugin tables, problems."""
