"""What admins use: staff and roles, invites and /join, the union mailbox's inbox."""
