# One image for every newsdesk process: the API, workers and the reconciler.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY services ./services
COPY workers ./workers
COPY newsdesk ./newsdesk
COPY evaluation ./evaluation
RUN pip install --no-deps --no-build-isolation . \
    && useradd --create-home --uid 10001 newsdesk
USER newsdesk

EXPOSE 8000
CMD ["newsdesk", "api", "--host", "0.0.0.0", "--port", "8000"]
