"""Work the bot does on the clock rather than in answer to an update (APScheduler calls it
from `bot/runner.py`): the desk's reminders and released holds (`desk`), removing texts past
the retention period (`retention`), the FAQ editors' weekly digest of failing answers
(`faq_digest`) and monthly sign-off reminder (`faq_review`), and the staff groups' topics
Telegram refused to create (`topics`)."""
