# rezigate container image: a static binary on a distroless base, run as a
# non-root user. Build with:
#
#	docker build -t rezigate .
#
# The configuration is not baked in: mount it at /etc/rezigate/config.yaml
# and pass the secrets as REZIGATE_* environment variables (see deploy/).
# In a container, set listen: ":4180" (or "0.0.0.0:4180"); the default,
# 127.0.0.1:4180, is unreachable from outside the container.

# The official golang images set GOTOOLCHAIN=local, so this must be at least
# the go line of go.mod or the build stops instead of fetching a toolchain.
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, in their own layer: it is rebuilt only when go.mod or
# go.sum change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
# CGO off: the binary must run on a base image without a C library.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/rezigate .

# static-debian12 holds CA certificates and tzdata, which rezigate needs to
# reach the OpenID provider and the Rezi API over TLS, and nothing else: no
# shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rezigate /rezigate
# A reference for writing the real config, not read at run time.
COPY config.example.yaml /usr/share/doc/rezigate/config.example.yaml
# Numeric, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
USER 65532:65532
EXPOSE 4180
# No HEALTHCHECK: the image has no shell or curl to run one, and the
# orchestrator probes over HTTP instead: GET /healthz (liveness, 200 while
# the process serves) and GET /readyz (readiness, 200 once the OpenID
# provider's discovery document has loaded), both on the listen port.
ENTRYPOINT ["/rezigate"]
CMD ["-config", "/etc/rezigate/config.yaml"]
