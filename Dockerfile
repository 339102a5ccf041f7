FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
USER node
EXPOSE 8083
# The compose file picks the process: api (default), worker or sandbox.
CMD ["node", "--import", "tsx", "src/api/main.ts"]
