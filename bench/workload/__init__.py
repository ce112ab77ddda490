"""What bench/webhook.py runs and measures: the members' journeys (`journeys`), how their
updates reach the bot and the fake server and load generator processes that send them
(`drivers`), the bots and their databases (`processes`), and CPU time (`cpu`)."""
