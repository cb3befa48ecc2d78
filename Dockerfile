# robustcheck: Deno + the shipped models, as a non-root user, state on a volume.
# Build: docker build -t robustcheck .   Run: see README "Docker" (keys or ROBUSTCHECK_ALLOW_ANONYMOUS=1 are needed,
# because the container listens on 0.0.0.0).
# Node 24 LTS on Debian 12: the base only provides npm, which installs the pinned Deno.
FROM node:24-bookworm-slim
RUN npm install -g deno@2.9.6 && npm cache clean --force \
  && mkdir -p /app /data && chown node:node /app /data
USER node
WORKDIR /app
ENV DENO_DIR=/app/.deno-cache \
  DENO_NO_UPDATE_CHECK=1

# Dependencies first, from the frozen lockfile only, so that a source change does not reinstall them.
COPY --chown=node:node deno.json deno.lock ./
RUN deno install --frozen \
  # onnxruntime-node ships addons for every OS and CPU (~290 MB): keep this image's only.
  && arch="$(uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)" \
  && for bin in node_modules/.deno/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v*; do \
    find "$bin" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + ; \
    find "$bin/linux" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} + ; \
  done

COPY --chown=node:node main.ts ./
COPY --chown=node:node kernels ./kernels
COPY --chown=node:node src ./src
COPY --chown=node:node models ./models
# Type-check and cache the entry point and both Worker modules at build time, not at the first request.
RUN deno cache --frozen main.ts src/runtime/session_worker.ts src/intake/decode_worker.ts

ENV PORT=8000 \
  ROBUSTCHECK_BACKEND=auto \
  ROBUSTCHECK_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT')}/healthz`); Deno.exit(r.ok ? 0 : 1)"]
# Docker sets HOSTNAME to the container's name; the service must listen on every interface inside the container.
CMD ["env", "HOSTNAME=0.0.0.0", "deno", "task", "start"]
