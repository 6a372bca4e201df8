# Multi-stage build: a static hashgate binary on an empty image, run as a
# non-root user. Build: docker build -t hashgate .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0-dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hashgate ./cmd/hashgate \
 && mkdir -p /out/etc /out/var/lib/hashgate \
 && echo "hashgate:x:65532:65532:hashgate:/var/lib/hashgate:/sbin/nologin" > /out/etc/passwd \
 && echo "hashgate:x:65532:" > /out/etc/group

FROM scratch
COPY --from=build /out/etc/passwd /out/etc/group /etc/
COPY --from=build --chown=65532:65532 /out/var/lib/hashgate /var/lib/hashgate
COPY --from=build /out/hashgate /usr/local/bin/hashgate
COPY examples/hashgate.toml /etc/hashgate/hashgate.toml
USER 65532:65532
WORKDIR /var/lib/hashgate
EXPOSE 3333 8080
ENTRYPOINT ["/usr/local/bin/hashgate"]
CMD ["run", "-c", "/etc/hashgate/hashgate.toml"]
