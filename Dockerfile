# The SeedCore energy API (koa-bucket-cache). Build: docker compose build api
#
# NODE_IMAGE picks the base; .ci/containers.sh passes a stand-in built from this machine's node
# where no image can be pulled. Any image with node 20 or later, npm, sh and a `node` user works.
ARG NODE_IMAGE=node:20-bookworm-slim

# Build: every package (the service's may be devDependencies: the published library carries only
# its own), compile, then trace which files the compiled service and its worker load.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.service.json ./
COPY src ./src
COPY adapters ./adapters
RUN npm run build:service
RUN node --input-type=module -e " \
  import { cpSync } from 'node:fs'; \
  import { nodeFileTrace } from '@vercel/nft'; \
  const { fileList } = await nodeFileTrace(['dist/src/energy/server.js', 'dist/src/energy/worker.js']); \
  for (const file of [...fileList, 'package.json']) cpSync(file, '/runtime/' + file, { dereference: true }); \
  "

# Run: the compiled service and only the files it loads, as the unprivileged `node` user.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=8002
WORKDIR /app
COPY --from=build /runtime ./
USER node
EXPOSE 8002
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8002) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# What `npm start` runs, compiled, with node itself as the process `docker stop` signals, so
# SIGTERM starts the graceful shutdown (stop accepting, finish in-flight requests, close Redis).
CMD ["node", "dist/src/energy/server.js"]
