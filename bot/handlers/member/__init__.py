"""What members use: onboarding, the FAQ and search, appeals, their conversations
with lawyers, ratings, the union mailbox, news, their data."""
