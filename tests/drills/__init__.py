"""The crash drill suite: real trimtab processes killed at random moments, then restarted."""
