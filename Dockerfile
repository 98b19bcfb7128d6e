# One image for every service of the engine: the topic creator, the offers API, the
# stream workers and the simulator. docker-compose.yml chooses the command of each.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# LightGBM's wheel needs the OpenMP runtime, which the slim image does not carry.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin offers

WORKDIR /app

# Dependencies first, at the exact versions of the lock file, so that a change of the
# code alone reuses this layer.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# Then the project itself; its dependencies are all installed above.
COPY . .
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build ./*.egg-info \
    && chown -R offers:offers /app

# /app stays writable for the worker's local state (Faust's data directory).
USER offers

CMD ["offers", "--help"]
