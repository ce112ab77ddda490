"""The press secretary's broadcasts: audience, pacing, delivery that survives restarts."""
