# mailwarden: build stage compiles TypeScript; the runtime stage has only what runs, as a
# non-root user, with a health check on /healthz.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
COPY scripts ./scripts
# the commit mailwarden --version and mailwarden_build_info report: docker build --build-arg MAILWARDEN_COMMIT=$(git rev-parse --short=12 HEAD)
ARG MAILWARDEN_COMMIT=unknown
RUN MAILWARDEN_COMMIT=$MAILWARDEN_COMMIT npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --system mailwarden && useradd --system --gid mailwarden --home-dir /var/lib/mailwarden --create-home mailwarden
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root config ./config
USER mailwarden
WORKDIR /var/lib/mailwarden
# SMTP, feedback SMTP, admin API, metrics and health
EXPOSE 2525 2526 8025 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENV MAILWARDEN_CONFIG=/etc/mailwarden/config.yaml
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]
