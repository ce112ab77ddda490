"""What lawyers and head lawyers use: the queue and cards, closing, hand-over, the
thread, FAQ editing and sign-off, the report."""
