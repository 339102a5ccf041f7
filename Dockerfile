FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
# The dashboard the api serves at /ui/.
COPY scripts/build-ui.ts ./scripts/
RUN npm run build:ui
# DATA_DIR: the engine's secret key file (secret.key) is made here on first start; compose
# shares it between the api and worker containers through a volume.
RUN mkdir -p /app/var && chown node:node /app/var && chmod 700 /app/var
USER node
EXPOSE 8083
# The compose file picks the process: api (default), worker or sandbox.
CMD ["node", "--import", "tsx", "src/api/main.ts"]
