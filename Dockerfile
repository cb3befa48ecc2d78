# Self-hosted image: Deno + the shipped models; the native onnxruntime backend is used when it loads.
FROM node:20-bookworm-slim
RUN npm install -g deno@2.9.6
WORKDIR /app
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src ./src
COPY kernels ./kernels
COPY models ./models
RUN deno install --entrypoint main.ts
ENV PORT=8000 ROBUSTCHECK_BACKEND=auto
EXPOSE 8000
CMD ["deno", "task", "start"]
