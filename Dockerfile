# syntax=docker/dockerfile:1
# Multi-stage image with the operator, the kubectl plugin and the demo app.
#   docker build -t failover-operator:0.1.0 .
# The same image runs the demo workload: override the command with
# /usr/local/bin/failover-demo-app (manifests/samples does), and also tag it as
# failover-demo-app:0.1.0 for the samples.
#
# tests/ship/check-dockerfile.sh keeps this file honest without a Docker engine:
# the builder installs exactly scripts/install-deps.sh's BUILD_PACKAGES, and the runtime
# stage installs exactly the packages that provide the shared libraries the binaries link.

FROM debian:bookworm AS builder
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ cmake make pkg-config ninja-build \
      libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev \
      prometheus-cpp-dev googletest libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build /build -j "$(nproc)" --target failover-operator kubectl-failover failover-demo-app \
 && strip /build/bin/failover-operator /build/bin/kubectl-failover /build/bin/failover-demo-app

FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libc6 libgcc-s1 libstdc++6 libssl3 zlib1g libbrotli1 libcpp-httplib0.11 \
      libyaml-cpp0.7 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /build/bin/failover-operator /build/bin/kubectl-failover /build/bin/kubectl_complete-failover \
     /build/bin/failover-demo-app /usr/local/bin/
# 65532: the conventional "nonroot" uid/gid; the manifests' runAsUser matches.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/failover-operator"]
