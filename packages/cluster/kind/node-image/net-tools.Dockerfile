# kube-proxy and kube-router program iptables/nftables: one binary on the Debian base with those
# tools (upstream uses distroless-iptables). Built by src/kind/nodeimage.ts; the apt layer is
# shared by both images.
ARG BASE_IMAGE=mlflow-k8s/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables nftables conntrack ipset kmod \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
ARG BINARY_PATH=/usr/local/bin/binary
COPY binary ${BINARY_PATH}
