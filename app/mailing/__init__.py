"""E-mail: the outbox (written with its cause, delivered after commit) and messages per purpose."""
