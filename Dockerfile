# Multi-stage build: a static hashgate binary on an empty image, run as the
# unprivileged user 65532. Build: docker build -t hashgate .
# Run:  docker run -p 3333:3333 -p 8080:8080 -v hashgate-state:/var/lib/hashgate hashgate
#
# The final stage is also read by cmd/hashgate's TestImageLayoutStarts,
# which lays its files out in a directory and runs the binary there as
# uid 65532 (chroot): keep every COPY source a repository file or one of
# the build outputs that test knows (/out/hashgate, /out/var/lib/hashgate).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0-dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hashgate ./cmd/hashgate \
 && mkdir -p /out/var/lib/hashgate

FROM scratch
COPY deploy/docker/passwd deploy/docker/group /etc/
COPY --from=build /out/hashgate /usr/local/bin/hashgate
# The example config for a container (listens on every interface, state
# and audit log under /var/lib/hashgate) and the policy it names.
COPY examples/container.toml /etc/hashgate/hashgate.toml
COPY examples/policy.toml /etc/hashgate/policy.toml
# The only writable place: state file, last good policy, audit log.
COPY --from=build --chown=65532:65532 /out/var/lib/hashgate /var/lib/hashgate
VOLUME ["/var/lib/hashgate"]
USER 65532:65532
WORKDIR /var/lib/hashgate
EXPOSE 3333 8080
# Exec form: there is no shell. Unhealthy while no pool session is up.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/hashgate", "health", "-c", "/etc/hashgate/hashgate.toml", "--timeout", "5s"]
ENTRYPOINT ["/usr/local/bin/hashgate"]
CMD ["run", "-c", "/etc/hashgate/hashgate.toml"]
