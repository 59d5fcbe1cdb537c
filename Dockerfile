# syntax=docker/dockerfile:1
# justfn's base image for functions. A function's image is this one, its code in /var/task and its
# handler as CMD:
#
#   FROM justfn
#   COPY . /var/task
#   CMD ["index.handler"]
#
# and runs unchanged on AWS Lambda (container image: Lambda sets AWS_LAMBDA_RUNTIME_API), on Knative and
# under `docker run` (HTTP on $PORT). docs/deploy.md has the commands.

ARG NODE_IMAGE=node:22-bookworm-slim

# Build: the bundles in dist/ (each carries its dependencies), packed as npm would publish them.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: `prepare` would build before the sources are here, and bundling needs none.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/build.mjs --bundles-only \
 && mkdir -p /tmp/pkg \
 && npm pack --ignore-scripts --pack-destination /tmp/pkg \
 && mv /tmp/pkg/justfn-*.tgz /tmp/pkg/justfn.tgz

# Run: Node 22 and the runtime bundles, no node_modules (the bundles need none), no compiler, no npm cache.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    LAMBDA_TASK_ROOT=/var/task \
    PORT=8080
# tini, for when the bootstrap is the container's PID 1 (`docker run` without --init, a Kubernetes pod): it
# reaps the orphans a function's child processes leave and passes signals on (bootstrap/bootstrap).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
# Only what a function runs: not the CLI (cli.cjs, bin/), the ES-module library builds, the editor
# schema or code caches written by another Node. The code caches are written here, by this image's own
# Node: V8 refuses a cache another version wrote.
RUN --mount=type=bind,from=build,source=/tmp/pkg,target=/tmp/pkg \
    --mount=type=bind,source=scripts/warm.cjs,target=/tmp/warm.cjs \
    set -eu; \
    dest=/opt/justfn; \
    mkdir -p "$dest" /var/task; \
    tar -xzf /tmp/pkg/justfn.tgz -C "$dest" --strip-components=1 --no-same-owner; \
    rm -rf "$dest/bin" "$dest/schema" "$dest/dist/types" "$dest/dist/cli.cjs" "$dest/dist/index.js" "$dest/dist/testing.js"; \
    rm -f "$dest/dist/"*.cache; \
    node /tmp/warm.cjs "$dest/dist" lambda; \
    node /tmp/warm.cjs "$dest/dist" http >/dev/null; \
    node /tmp/warm.cjs "$dest/dist" splits; \
    node /tmp/warm.cjs "$dest/dist" grpc >/dev/null; \
    node /tmp/warm.cjs "$dest/dist" flags; \
    chmod -R a+rX "$dest"
WORKDIR /var/task
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it (Lambda picks its own
# unprivileged user; everything above is world-readable).
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["/opt/justfn/bootstrap/bootstrap"]
CMD ["index.handler"]
