#!/usr/bin/env python3
"""pmbot entry point: ``python bot.py [--config PATH] [--mode sim|paper|live] [--check-config]``."""

import sys

from pmbot.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
