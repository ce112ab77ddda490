"""Helpers the routers share (no routers here): texts every staff screen uses, relaying
messages, media, FSM states."""
