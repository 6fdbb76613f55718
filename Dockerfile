# syntax=docker/dockerfile:1
# Build: compile TypeScript and generate the Prisma client with dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
# The host-app packages are npm workspaces: npm ci needs their package.json files.
COPY packages ./packages
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --omit=optional

# Run: production dependencies only (no embedded PostgreSQL: production needs
# DATABASE_URL), non-root, the same start command the tests exercise.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/prisma ./prisma
# The report page's assets (it reuses the dashboard's stylesheet).
COPY --from=build --chown=node:node /app/src/report/assets ./src/report/assets
COPY --from=build --chown=node:node /app/src/dashboard/assets ./src/dashboard/assets
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Migrates at start (advisory-locked, safe with several replicas), then serves,
# with the same V8 heap ceiling as `npm start` (README "Performance": memory).
CMD ["node", "--max-old-space-size=1024", "--max-semi-space-size=64", "dist/cli/main.js", "serve"]
