# mmbot and bybit-sim in a small runtime image.
#   docker build -t mmbot .                       (with registry access: rust + debian images)
# Without registry access, deploy/docker-e2e.sh builds a local Debian base image and passes
#   --build-arg BUILDER=<local base> --build-arg BASE=<local base> --build-arg PREBUILT=1
# with binaries built on the host (target/release).
ARG BUILDER=rust:1.95-bookworm
ARG BASE=debian:bookworm-slim

FROM ${BUILDER} AS builder
ARG PREBUILT=0
WORKDIR /src
COPY . .
RUN if [ "$PREBUILT" = "1" ]; then \
      test -x target/release/mmbot && test -x target/release/bybit-sim; \
    else \
      cargo build --release --locked -p mmbot -p bybit-sim --bins; \
    fi \
 && mkdir -p /out && cp target/release/mmbot target/release/bybit-sim /out/

FROM ${BASE}
RUN useradd --system --uid 10001 --home-dir /data --no-create-home mmbot \
 && mkdir -p /data /config && chown 10001 /data
COPY --from=builder /out/mmbot /out/bybit-sim /usr/local/bin/
COPY config/ /config/
USER 10001
WORKDIR /data
VOLUME ["/data"]
# Secrets come from the environment (MMBOT_API_KEY, MMBOT_API_SECRET, MMBOT_CONTROL_TOKEN).
ENV MMBOT_DATA_DIR=/data \
    MMBOT_CONTROL_LISTEN=0.0.0.0:8080 \
    MMBOT_LOG_FORMAT=json
EXPOSE 8080
# docker stop sends this to PID 1 — mmbot itself (exec form below), which runs its shutdown.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/mmbot", "health", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/mmbot"]
CMD ["run", "--config", "/config/default.toml"]
