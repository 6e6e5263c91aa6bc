# fxhelp-bot: `docker run -v ./config:/config -v fxhelp-data:/data IMAGE`
# The config file is /config/config.yaml; put `storage: {path: /data/fxhelp.db}` in it so the
# database (the bot's memory: session, sync token, consults, escalations) lives on the volume.
#
# No Docker engine runs in CI: .ci/replay_dockerfile.py reads this file and replays its COPY, RUN,
# ENV, WORKDIR and USER lines in a scratch folder, then runs check-config and starts the result.
# It knows the commands used here (pip, useradd, mkdir, chown, rm); a new kind of step needs
# teaching it there.

# Stage 1: the wheel, built from exactly the files it is made of.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY commands ./commands
COPY replies ./replies
RUN pip wheel --no-deps --wheel-dir /wheels .

# Stage 2: the wheel installed as a user installs it; no source tree in the image.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin fxhelp \
    && mkdir -p /data /config \
    && chown fxhelp /data

USER fxhelp
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9108
HEALTHCHECK --interval=60s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9108/healthz').status == 200 else 1)"
ENTRYPOINT ["fxhelp-bot"]
CMD ["run", "--config", "/config/config.yaml"]
