# fxhelp-bot: `docker run -v ./config:/config -v fxhelp-data:/data IMAGE`
# The config file is /config/config.yaml; put `storage: {path: /data/fxhelp.db}` in it so the
# database (the bot's memory: session, sync token, consults, escalations) lives on the volume.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY replies ./replies
# Installed from the source tree (not as a wheel) so the shipped reply library under /app/replies
# is where the bot looks for it by default.
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin fxhelp \
    && mkdir -p /data /config && chown fxhelp /data

USER fxhelp
VOLUME ["/data", "/config"]
EXPOSE 9108
HEALTHCHECK --interval=60s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9108/healthz').status == 200 else 1)"
ENTRYPOINT ["fxhelp-bot"]
CMD ["run", "--config", "/config/config.yaml"]
