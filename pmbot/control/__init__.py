"""Operator control of a running bot over a Unix socket (``python bot.py ctl ...``) and SIGHUP
reload. See ``protocol.py`` for the wire format, ``server.py`` for access control, ``bridge.py``
and ``desk.py`` for how a request reaches the strategy thread."""
