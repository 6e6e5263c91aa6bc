"""Operations: the ``/healthz`` and ``/metrics`` endpoint and the bot's Prometheus metrics."""
