"""Adapters to the outside world of calls, chats and mails (above the engine, beside the store).

A channel turns the engine's journaled decisions into provider commands and the
provider's reports into engine commands; it holds no truth of its own.
"""
