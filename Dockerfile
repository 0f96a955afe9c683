# Vigil's container image: the static vigil binary, a CA bundle and an empty
# /data directory, FROM scratch (no shell, no package manager, no libc).
# The binary is built first, outside the image, as release pipelines do:
#
#   make image          # = make build sbom, then <podman|docker> build
#
# It runs as UID/GID 65532 (no /etc/passwd needed), keeps its state only under
# the /data volume, works with a read-only root filesystem, and serves the
# Anomaly Detector API on 0.0.0.0:5000 like the Azure container: plain HTTP,
# opted into explicitly (VIGIL_ALLOW_INSECURE_HTTP=true, and Vigil logs a
# warning), for TLS that ends at an ingress or mesh. Mount a certificate and
# set VIGIL_TLS_CERT and VIGIL_TLS_KEY to serve TLS from Vigil itself.
FROM scratch

ARG VERSION=dev
LABEL org.opencontainers.image.title="vigil" \
      org.opencontainers.image.description="Self-hosted, drop-in replacement for the Azure AI Anomaly Detector REST API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/vigilhq/vigil"

COPY bin/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/vigil.cdx.json /sbom.cdx.json
COPY bin/vigil /vigil
# The data directory belongs to the runtime user, so that a new named volume
# mounted on it starts out writable (Vigil keeps it at mode 0700).
COPY --chown=65532:65532 bin/image/data/ /data/

# Configuration by environment; every secret is also accepted as a file:
# VIGIL_API_KEY_FILE, VIGIL_MASTER_KEY_FILE (see docs/configuration.md).
ENV VIGIL_ADDR=0.0.0.0:5000 \
    VIGIL_DATA=/data \
    VIGIL_METRICS_ADDR=0.0.0.0:9090 \
    VIGIL_ALLOW_INSECURE_HTTP=true \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

USER 65532:65532
EXPOSE 5000
VOLUME ["/data"]
# The Azure container's arguments work as they did:
#   docker run ... localhost/vigil ApiKey=<key> Eula=accept Billing=<ignored>
ENTRYPOINT ["/vigil"]
CMD ["serve"]
