# The manager image, built with a Docker engine (make docker-build).
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Modules first, so a source change keeps the download layer.
COPY go.mod go.mod
COPY go.sum go.sum
RUN go mod download

COPY main.go main.go
COPY api/ api/
COPY internal/ internal/

# The same static build as make image; TARGETARCH follows the platform
# docker builds for.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w" -o /manager .

# For Docker users. make image builds the same image without Docker or a
# base: the same non-root user 65532, entrypoint /manager and flags. CA
# roots are embedded in the binary.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /manager /manager
USER 65532:65532

ENTRYPOINT ["/manager"]
