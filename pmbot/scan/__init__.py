"""``python bot.py scan``: rank the venue's liquidity-reward markets by estimated reward per day per
$100 of capital, next to the risk that buys it. ``fetch`` speaks HTTP (cached, rate-limited,
errors classified), ``sources`` reads the venue's endpoints, ``estimate`` is the pure ranking,
``output`` renders it, ``cli`` wires them."""
