# The SeedCore energy API (koa-bucket-cache). Build: docker compose build api
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    PORT=8002
WORKDIR /app

# Dependencies first, so a source change does not reinstall them. tsx (the TypeScript runtime)
# is a production dependency; dev dependencies (tap, testcontainers, typescript) stay out.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY adapters ./adapters

USER node
EXPOSE 8002
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8002) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# What `npm start` runs, with node itself as the process `docker stop` signals, so SIGTERM
# starts the graceful shutdown (stop accepting, finish in-flight requests, close Redis).
CMD ["node", "--import", "tsx", "src/energy/server.ts"]
