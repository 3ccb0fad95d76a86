# trainyard worker image.
#
#   docker build -t trainyard-worker .        (docker compose builds it as the `worker` service)
#
# TypeScript runs through tsx at runtime (a production dependency), so there is no compile step:
# stage 1 installs production dependencies from the lockfile, stage 2 adds the sources.
# Debian (glibc) rather than Alpine: Temporal's core bridge, DuckDB and SWC ship glibc binaries.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install --no-save` installs the lockfile's versions; `npm ci` would refuse this lockfile, which
# lacks other platforms' optional binaries (the registry it was made against carries only linux-x64).
RUN npm install --omit=dev --no-save --no-audit --no-fund \
 && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY contracts ./contracts
COPY lib ./lib
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY cli ./cli
COPY bin ./bin
# Sources stay root-owned and read-only to the process; it runs as the image's unprivileged `node` user.
USER node
CMD ["node", "bin/trainyard.mjs", "worker"]
